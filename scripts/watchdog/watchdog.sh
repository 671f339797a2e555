#!/usr/bin/env bash
# watchdog.sh AGENT [--loop] [watchdog options]: check AGENT once and restart it if it is alive but not ready
# (for cron/launchd; exit 0 ok, 1 warning, 2 critical), or with --loop keep checking (under supervisord).
# The logic is shared/health/watchdog.py; see `python -m shared.health watchdog --help` for the options.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$ROOT/scripts/lib/run_module.sh"
agent="$1"; shift
once="--once"
if [ "${1:-}" = "--loop" ]; then once=""; shift; fi
tracer_run_module "watchdog_$agent" "$ROOT" shared.health watchdog --agent "$agent" ${once:+"$once"} "$@"
