#!/usr/bin/env bash
# monitoring_status.sh [--once] [--refresh SECONDS]: live dashboard of both agents (state, last cycle,
# positions, PnL, recent decisions and alerts) until Ctrl-C; --once prints one frame.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${TB_VENV_DIR:-$ROOT/.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "monitoring_status: no virtual environment at $VENV; run $ROOT/start_trading_system.sh once first" >&2
  exit 2
fi
# run from /: `start_trading_system.sh stop` kills leftover `-m shared.*` processes whose working directory is the
# checkout, and a `shared/` folder in the caller's directory must not shadow ours
cd /
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
exec "$VENV/bin/python" -m shared.health dashboard "$@"
