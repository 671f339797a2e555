#!/usr/bin/env bash
# watchdog_futures.sh [--loop] [watchdog options]: the watchdog for the futures agent (see watchdog.sh).
exec "$(dirname "${BASH_SOURCE[0]}")/watchdog.sh" futures "$@"
