"""The supervisord event listener: the READY/RESULT protocol byte for byte, which state changes become which
alerts, and the real process (`python -m shared.health listener`) on pipes, as supervisord runs it."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from shared.health.listener import (BACKOFF, EXITED, FATAL, IncidentWriter, SupervisorEvent, incident_for,
                                    parse_tokens, serve)

from .helpers import T0, database, rows

ROOT = Path(__file__).resolve().parents[2]


def event_bytes(name: str, payload: str, serial: int = 1) -> bytes:
    body = payload.encode()
    head = f"ver:3.0 server:supervisor serial:{serial} pool:alerts poolserial:{serial} eventname:{name} len:{len(body)}\n"
    return head.encode() + body


def ev(name: str, **payload: str) -> SupervisorEvent:
    return SupervisorEvent(name, {"eventname": name}, payload, "")


def test_protocol_ready_result_ok_and_fail():
    stdin = io.BytesIO(event_bytes(EXITED, "processname:hybrid groupname:hybrid from_state:RUNNING expected:0 pid:42")
                       + event_bytes(FATAL, "processname:futures groupname:futures from_state:BACKOFF", 2))
    stdout = io.BytesIO()
    seen: list[SupervisorEvent] = []
    serve(stdin, stdout, lambda e: seen.append(e) or e.process == "hybrid", pause=lambda s: None)
    assert stdout.getvalue() == b"READY\nRESULT 2\nOKREADY\nRESULT 4\nFAILREADY\n"
    assert [(e.name, e.payload["processname"]) for e in seen] == [(EXITED, "hybrid"), (FATAL, "futures")]
    assert seen[0].payload["pid"] == "42" and seen[0].headers["len"] == str(len(seen[0].raw.encode()))


def test_a_handler_bug_answers_fail_instead_of_breaking_the_protocol():
    stdout = io.BytesIO()
    serve(io.BytesIO(event_bytes(BACKOFF, "processname:x groupname:x from_state:STARTING tries:1")), stdout,
          lambda e: 1 / 0, pause=lambda s: None)  # type: ignore[arg-type,return-value]
    assert stdout.getvalue() == b"READY\nRESULT 4\nFAILREADY\n"


def test_parse_tokens():
    assert parse_tokens("processname:cat groupname:cat from_state:RUNNING expected:0 pid:2766") == {
        "processname": "cat", "groupname": "cat", "from_state": "RUNNING", "expected": "0", "pid": "2766"}


def test_which_state_changes_become_which_alerts():
    tail = lambda name: f"{name}: last words"  # noqa: E731
    assert incident_for(ev(EXITED, processname="hybrid", expected="1", from_state="RUNNING"), tail) is None
    exited = incident_for(ev(EXITED, processname="hybrid", expected="0", from_state="RUNNING", pid="7"), tail)
    assert exited and exited.alert and exited.alert.severity.value == "warning"
    assert exited.alert.dedup_key == "exited:hybrid" and "hybrid: last words" in exited.alert.body
    backoff = incident_for(ev(BACKOFF, processname="futures", tries="2", from_state="STARTING"), tail)
    assert backoff and backoff.alert and backoff.alert.severity.value == "warning" and "attempt 2" in backoff.message
    fatal = incident_for(ev(FATAL, processname="futures", from_state="BACKOFF"), tail)
    assert fatal and fatal.alert and fatal.alert.severity.value == "critical"
    assert fatal.alert.dedup_key == "agent_failed:futures", "the same key as the watchdog's, so one alert"


def test_writer_records_the_event_and_the_alert_together(tmp_path):
    conn = database(tmp_path / "t.db")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "futures.log").write_text("a\nb\nTraceback ...\nRuntimeError: boom\n")
    write = IncidentWriter(conn, tmp_path / "logs", lambda: T0)
    assert write(ev(FATAL, processname="futures", from_state="BACKOFF"))
    assert write(ev(FATAL, processname="futures", from_state="BACKOFF"))  # a repeat folds into the first alert
    assert rows(conn, "SELECT agent, kind, severity FROM events") == [
        {"agent": "futures", "kind": "process_fatal", "severity": "critical"}] * 2
    [alert] = rows(conn, "SELECT severity, count, body FROM notify_outbox")
    assert alert["severity"] == "critical" and alert["count"] == 2 and "RuntimeError: boom" in alert["body"]


def test_the_listener_process_speaks_the_protocol_on_stdout_and_logs_to_stderr(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TB_")}
    env.update({"TB_ROOT": str(tmp_path), "TB_DB_PATH": str(tmp_path / "t.db"), "TB_RUN_DIR": str(tmp_path / "run"),
                "TB_LOG_DIR": str(tmp_path / "logs"), "PYTHONPATH": str(ROOT)})
    events = (event_bytes(EXITED, "processname:hybrid groupname:hybrid from_state:RUNNING expected:0 pid:42")
              + event_bytes(EXITED, "processname:hybrid groupname:hybrid from_state:STOPPING expected:1 pid:43", 2))
    proc = subprocess.run([sys.executable, "-m", "shared.health", "listener"], input=events, env=env, cwd=tmp_path,
                          capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == b"READY\nRESULT 2\nOKREADY\nRESULT 2\nOKREADY\n"
    assert b"exited unexpectedly" in proc.stderr
    conn = database(tmp_path / "t.db")
    assert [r["kind"] for r in rows(conn, "SELECT kind FROM notify_outbox")] == ["agent_restarted"]
