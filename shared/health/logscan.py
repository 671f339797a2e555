"""Recent error lines from the fleet's logs: ours ("<iso>Z <process> ERROR ..."), Python tracebacks printed before
logging was set up, and supervisord's own CRIT/ERRO lines. Process exits are left out: the event listener turns
each into an alert already, and the program checks show the resulting state."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from shared.notify.timefmt import parse_iso

OURS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) (?:LIVE )?(\S+) (ERROR|CRITICAL) (\S+): (.*)$")
TIMED = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) ")
SUPERVISORD = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+ (CRIT|ERRO|WARN|INFO) (.*)$")
# the notifier logs every alert it routes or prints at the alert's severity: an echo of an incident, not an error
ALERT_ECHO_LOGGERS = {"tracer.alerts", "shared.notify.notifier"}
ALERT_ECHO = re.compile(r"^alert #\d+(?: (?:info|warning|critical) \S+/\S+)?: ")  # not "alert #5 permanently failed"
TAIL_BYTES = 256 * 1024
# said at every start: our socket is chmod 0700; running as root is the operator's choice (systemd User=)
BENIGN_SUPERVISORD = ("running without any HTTP authentication", "Supervisor is running as root")


@dataclass(frozen=True)
class LogError:
    file: str
    ts: datetime
    text: str


def recent_errors(log_dir: Path, since: datetime, limit: int = 10) -> list[LogError]:
    """Error lines newer than `since` from every *.log in `log_dir`, newest last."""
    found: list[LogError] = []
    for path in sorted(log_dir.glob("*.log")) if log_dir.exists() else []:
        found += [e for e in _scan(path) if e.ts >= since]
    found.sort(key=lambda e: e.ts)
    return found[-limit:]


def _tail_lines(path: Path) -> list[str]:
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - TAIL_BYTES))
        text = fh.read().decode("utf-8", "replace")
    lines = text.splitlines()
    return lines[1:] if size > TAIL_BYTES else lines  # the first line may be cut


def _scan(path: Path) -> list[LogError]:
    try:
        lines = _tail_lines(path)
        mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
    except OSError:
        return []
    out: list[LogError] = []
    last_ts: datetime | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if m := OURS.match(line):
            last_ts = parse_iso(m.group(1))
            if not (m.group(4) in ALERT_ECHO_LOGGERS and ALERT_ECHO.match(m.group(5))):
                out.append(LogError(path.name, last_ts, line[:300]))
        elif m := TIMED.match(line):
            last_ts = parse_iso(m.group(1))
        elif m := SUPERVISORD.match(line):
            ts = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").astimezone(timezone.utc)  # supervisord logs local time
            last_ts = ts
            level, msg = m.group(2), m.group(3)
            if level in ("CRIT", "ERRO") and not any(b in msg for b in BENIGN_SUPERVISORD):
                out.append(LogError(path.name, ts, line[:300]))
        elif line.startswith("Traceback (most recent call last)"):
            j = i + 1
            while j < len(lines) and (lines[j].startswith((" ", "\t")) or not lines[j].strip()):
                j += 1
            what = lines[j] if j < len(lines) else line
            out.append(LogError(path.name, last_ts or mtime, f"Traceback: {what[:280]}"))
            i = j
        i += 1
    return out
