#!/usr/bin/env bash
# Tracer fleet: ./start_trading_system.sh [start|stop|restart|status|logs|check] [--foreground]
# `start` (the default) bootstraps .venv and .env, validates the configuration, migrates the database,
# renders supervisord's configuration into run/ and starts the fleet.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
VENV="${TB_VENV_DIR:-$ROOT/.venv}"
# shellcheck source=scripts/bootstrap.sh
. "$ROOT/scripts/bootstrap.sh"

cmd="${1:-start}"
[ $# -gt 0 ] && shift
case "$cmd" in
  start|restart|stop|status|logs|check) ;;
  -h|--help|help)
    sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  --foreground) set -- --foreground "$@"; cmd=start ;;
  *) echo "unknown command '$cmd'; allowed: start, stop, restart, status, logs, check" >&2; exit 2 ;;
esac

if [ "$cmd" = start ] || [ "$cmd" = restart ] || [ ! -x "$VENV/bin/python" ]; then
  tracer_bootstrap "$ROOT" "$VENV" "" >&2
fi
if [ ! -f "$ROOT/.env" ]; then
  cp "$ROOT/.env.example" "$ROOT/.env"
  echo "created .env from .env.example (mode sim: no keys needed)" >&2
fi
exec "$VENV/bin/python" -m shared.fleet "$cmd" "$@"
