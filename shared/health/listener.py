"""supervisord event listener: PROCESS_STATE_EXITED (unexpected), BACKOFF and FATAL become alerts in the outbox.

The protocol (supervisord docs, "Events"): write READY\\n; read one header line of key:value tokens whose `len` says
how many payload bytes follow; answer RESULT 2\\nOK (handled) or RESULT 4\\nFAIL (supervisord re-sends it later).
stdout belongs to the protocol, so the listener logs to stderr only. It never waits on the network: handling an
event is one short SQLite transaction (event row + outbox row); the notifier does the sending.
"""
from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from shared.audit.db import transaction
from shared.health.events import record_event
from shared.notify import messages
from shared.notify.models import Alert, Severity
from shared.notify.outbox import enqueue

log = logging.getLogger(__name__)

EXITED, BACKOFF, FATAL = "PROCESS_STATE_EXITED", "PROCESS_STATE_BACKOFF", "PROCESS_STATE_FATAL"
LOG_TAIL_LINES = 3
FAIL_PAUSE_S = 1.0  # after a FAIL supervisord re-sends at once; pause so a locked database is not hammered


@dataclass(frozen=True)
class SupervisorEvent:
    name: str                   # eventname, e.g. PROCESS_STATE_EXITED
    headers: dict[str, str]
    payload: dict[str, str]     # processname, groupname, from_state, expected, pid, tries ...
    raw: str

    @property
    def process(self) -> str:
        return self.payload.get("processname", "?")


def parse_tokens(text: str) -> dict[str, str]:
    """'a:1 b:two' -> {'a': '1', 'b': 'two'}."""
    return dict(tok.split(":", 1) for tok in text.split() if ":" in tok)


def read_event(stdin: BinaryIO) -> SupervisorEvent | None:
    """One event from supervisord, or None at end of input (supervisord went away)."""
    line = stdin.readline()
    if not line:
        return None
    headers = parse_tokens(line.decode("utf-8", "replace"))
    size = int(headers.get("len", "0"))
    body = stdin.read(size) if size else b""
    text = body.decode("utf-8", "replace")
    first, _, _rest = text.partition("\n")  # state events have one line of tokens; others may carry data after it
    return SupervisorEvent(headers.get("eventname", "?"), headers, parse_tokens(first), text)


def serve(stdin: BinaryIO, stdout: BinaryIO, handle: Callable[[SupervisorEvent], bool],
          pause: Callable[[float], None] = time.sleep) -> None:
    """The protocol loop; returns when supervisord closes our stdin."""
    while True:
        stdout.write(b"READY\n")
        stdout.flush()
        event = read_event(stdin)
        if event is None:
            return
        try:
            ok = handle(event)
        except Exception:  # noqa: BLE001 - a bug in handling must not break the protocol (UNKNOWN = no more events)
            log.exception("handling %s failed", event.name)
            ok = False
        stdout.write(b"RESULT 2\nOK" if ok else b"RESULT 4\nFAIL")
        stdout.flush()
        if not ok:
            pause(FAIL_PAUSE_S)


@dataclass(frozen=True)
class Incident:
    """What an event means: the event row to record and the alert to send (None: nothing to say)."""

    kind: str
    severity: str
    message: str
    alert: Alert | None


def incident_for(event: SupervisorEvent, log_tail: Callable[[str], str]) -> Incident | None:
    """Map a state event to an incident; None for events that are not incidents (an expected exit)."""
    name, p = event.process, event.payload
    tail = log_tail(name)
    tail_text = f"\nlast log lines:\n{tail}" if tail else ""
    if event.name == EXITED:
        if p.get("expected") == "1":
            return None
        msg = f"{name} exited unexpectedly (pid {p.get('pid', '?')}, was {p.get('from_state', '?')}); " \
              f"supervisord is restarting it"
        alert = replace(messages.agent_restarted(name, msg + tail_text), dedup_key=f"exited:{name}")
        return Incident("process_exited", "warning", msg, alert)
    if event.name == BACKOFF:
        msg = f"{name} died while starting (attempt {p.get('tries', '?')}); supervisord retries, then gives up (FATAL)"
        alert = Alert(Severity.WARNING, "agent_backoff", f"⚠️ {name} keeps failing to start", msg + tail_text,
                      agent=name, dedup_key=f"backoff:{name}")
        return Incident("process_backoff", "warning", msg, alert)
    if event.name == FATAL:
        msg = f"supervisord gave up starting {name} (FATAL after its retries, from {p.get('from_state', '?')})"
        return Incident("process_fatal", "critical", msg, messages.agent_failed(name, msg + tail_text))
    return None


def log_tail(log_dir: Path, lines: int = LOG_TAIL_LINES, max_bytes: int = 8192) -> Callable[[str], str]:
    """The last lines of a program's log (logs/<name>.log): usually the error that killed it."""
    def tail(name: str) -> str:
        try:
            with open(log_dir / f"{name}.log", "rb") as fh:
                fh.seek(0, 2)
                size = fh.tell()
                fh.seek(max(0, size - max_bytes))
                text = fh.read().decode("utf-8", "replace")
        except OSError:
            return ""
        kept = [ln.rstrip()[:300] for ln in text.splitlines() if ln.strip()]
        return "\n".join(kept[-lines:])
    return tail


class IncidentWriter:
    """Records an incident and enqueues its alert in one transaction."""

    def __init__(self, conn: sqlite3.Connection, log_dir: Path, now: Callable[[], datetime]) -> None:
        self.conn = conn
        self.tail = log_tail(log_dir)
        self.now = now

    def __call__(self, event: SupervisorEvent) -> bool:
        incident = incident_for(event, self.tail)
        if incident is None:
            return True
        now = self.now()
        try:
            with transaction(self.conn):
                record_event(self.conn, now, event.process, incident.kind, incident.message, incident.severity,
                             {"event": event.name, **event.payload})
                if incident.alert is not None:
                    enqueue(self.conn, incident.alert, now=now)
        except sqlite3.Error as exc:
            log.error("could not record %s for %s: %s (supervisord will re-send it)", event.name, event.process, exc)
            return False
        log.warning("%s", incident.message)
        return True
