"""`python -m shared.notify` as a real process: sim mode with no channel prints alerts on stdout; one notifier
per database; SIGTERM stops it cleanly."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from shared.audit.db import connect
from shared.audit.migrations import migrate
from shared.notify import enqueue_alert

from .helpers import rows

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TB_")}
    env.update({"TB_ROOT": str(tmp_path), "TB_MODE": "sim", "TB_DB_PATH": str(tmp_path / "t.db"),
                "TB_RUN_DIR": str(tmp_path / "run"), "TB_LOG_DIR": str(tmp_path / "logs"),
                "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"})
    return env


def _notifier(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "shared.notify", *args], cwd=ROOT, env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_once_prints_waiting_alerts_on_the_console(tmp_path):
    conn = connect(tmp_path / "t.db")
    migrate(conn)
    enqueue_alert(conn, "critical", "agent_down", "futures is DOWN", "heartbeat 300s old", agent="futures")
    proc = _notifier(tmp_path, "--once", "--timeout", "10")
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "futures is DOWN" in out and "[SIM]" in out and "CRITICAL" in out
    assert rows(conn, "SELECT channel, status FROM notify_deliveries") == [{"channel": "console", "status": "sent"}]


def test_running_notifier_delivers_holds_the_lock_and_stops_on_sigterm(tmp_path):
    conn = connect(tmp_path / "t.db")
    migrate(conn)
    proc = _notifier(tmp_path)
    lines: list[str] = []
    assert proc.stdout is not None
    stdout = proc.stdout
    reader = threading.Thread(target=lambda: lines.extend(iter(stdout.readline, "")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 20
        while not rows(conn, "SELECT id FROM events WHERE kind='notifier_started'"):
            assert proc.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.05)
        enqueue_alert(conn, "warning", "feed_stale", "ETH/USD feed stale", "no candle for 10 min", agent="hybrid")
        while not any("ETH/USD feed stale" in line for line in lines):
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.05)
        second = _notifier(tmp_path)
        out, _ = second.communicate(timeout=30)
        assert second.returncode == 1 and "another notifier" in out
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        reader.join(timeout=5)
    assert proc.returncode == 0, "".join(lines)
    kinds = [r["kind"] for r in rows(conn, "SELECT kind FROM events WHERE agent='notifier' ORDER BY id")]
    assert kinds == ["notifier_started", "notifier_stopped"]
