#!/usr/bin/env bash
# install_cron.sh [--uninstall | --print]: run scripts/health_check.sh --notify every 15 minutes from this
# user's crontab (alerts go out through the notifier when something is wrong). Idempotent: running it again
# replaces this checkout's entry; --uninstall removes it; --print shows the entry without installing it.
# On Linux with systemd prefer systemd/tracer-health.timer, on macOS launchd/com.tracer.healthcheck.plist.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MARK="# tracer health check: $ROOT (scripts/install_cron.sh)"
CMD="cd '$ROOT' && mkdir -p logs && ./scripts/health_check.sh --notify --brief >> logs/health_check.log 2>&1"
ENTRY="*/15 * * * * $CMD"

action=install
case "${1:-}" in
  "") ;;
  --uninstall) action=uninstall ;;
  --print) printf '%s\n%s\n' "$MARK" "$ENTRY"; exit 0 ;;
  -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "unknown option '$1'; allowed: --uninstall, --print" >&2; exit 2 ;;
esac
if ! command -v crontab >/dev/null 2>&1; then
  echo "crontab is not installed; use systemd/tracer-health.timer (Linux) or launchd/com.tracer.healthcheck.plist (macOS)" >&2
  exit 1
fi

# drop trailing blank lines (portable to BSD tools: macOS)
trim() { awk 'NF { for (; n > 0; n--) print ""; print; next } { n++ }'; }

current="$(crontab -l 2>/dev/null | trim || true)"
# everything except this checkout's marker and entry (other checkouts' entries stay)
kept="$(printf '%s\n' "$current" | grep -vxF -- "$MARK" | grep -vF -- "$CMD" | trim || true)"

if [ "$action" = uninstall ]; then
  if [ "$kept" = "$current" ]; then
    echo "no Tracer health check in the crontab for $ROOT"
    exit 0
  fi
  if [ -n "$kept" ]; then printf '%s\n' "$kept" | crontab -; else printf '' | crontab -; fi
  echo "removed the Tracer health check for $ROOT from the crontab"
  exit 0
fi

{ [ -n "$kept" ] && printf '%s\n' "$kept"; printf '%s\n%s\n' "$MARK" "$ENTRY"; } | crontab -
echo "installed: every 15 minutes $ROOT/scripts/health_check.sh --notify (log: $ROOT/logs/health_check.log)"
