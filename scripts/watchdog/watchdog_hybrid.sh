#!/usr/bin/env bash
# watchdog_hybrid.sh [--loop] [watchdog options]: check the hybrid agent once and restart it if it is alive but
# not ready (for cron/launchd; exit 0 ok, 1 warning, 2 critical), or with --loop keep checking (under supervisord).
# The logic is shared/health/watchdog.py; see `python -m shared.health watchdog --help` for the options.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${TB_VENV_DIR:-$ROOT/.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "watchdog_hybrid: no virtual environment at $VENV; run $ROOT/start_trading_system.sh once first" >&2
  exit 2
fi
once="--once"
if [ "${1:-}" = "--loop" ]; then once=""; shift; fi
# run from /: `start_trading_system.sh stop` kills leftover `-m shared.*` processes whose working directory is the
# checkout, and a `shared/` folder in the caller's directory must not shadow ours
cd /
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
exec "$VENV/bin/python" -m shared.health watchdog --agent hybrid ${once:+"$once"} "$@"
