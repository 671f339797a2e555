#!/usr/bin/env bash
# health_check.sh [--json] [--notify] [--fix] [--brief]: the on-call engineer's one command.
# Programs, agent readiness (last successful cycle, heartbeat, feed, errors), database, disk, memory, CPU,
# alert outbox, recent log errors. Exit 0 ok, 1 warning, 2 critical. Works from any directory (cron too).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/lib/run_module.sh"
tracer_run_module health_check "$ROOT" shared.health check "$@"
