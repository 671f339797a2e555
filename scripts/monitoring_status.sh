#!/usr/bin/env bash
# monitoring_status.sh [--once] [--refresh SECONDS]: live dashboard of both agents (state, last cycle,
# positions, PnL, recent decisions and alerts) until Ctrl-C; --once prints one frame.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/lib/run_module.sh"
tracer_run_module monitoring_status "$ROOT" shared.health dashboard "$@"
