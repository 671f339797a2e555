#!/usr/bin/env bash
# health_check.sh [--json] [--notify] [--fix] [--brief]: the on-call engineer's one command.
# Programs, agent readiness (last successful cycle, heartbeat, feed, errors), database, disk, memory, CPU,
# alert outbox, recent log errors. Exit 0 ok, 1 warning, 2 critical. Works from any directory (cron too).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${TB_VENV_DIR:-$ROOT/.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "health_check: no virtual environment at $VENV; run $ROOT/start_trading_system.sh once first" >&2
  exit 2
fi
# run from /: `start_trading_system.sh stop` kills leftover `-m shared.*` processes whose working directory is the
# checkout, and a `shared/` folder in the caller's directory must not shadow ours
cd /
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
exec "$VENV/bin/python" -m shared.health check "$@"
