#!/usr/bin/env bash
# watchdog_hybrid.sh [--loop] [watchdog options]: the watchdog for the hybrid agent (see watchdog.sh).
exec "$(dirname "${BASH_SOURCE[0]}")/watchdog.sh" hybrid "$@"
