"""Recent errors from the logs: our format, bare tracebacks, supervisord's own lines; alert echoes are not errors."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shared.health.logscan import recent_errors

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)


def test_recent_errors_from_every_log(tmp_path):
    local = (NOW - timedelta(minutes=1)).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    (tmp_path / "hybrid.log").write_text(
        "2026-01-05T11:00:00.000Z hybrid ERROR shared.runner: cycle 3 failed: old news\n"
        "2026-01-05T11:58:00.000Z hybrid INFO shared.runner: started\n"
        "2026-01-05T11:58:30.000Z hybrid ERROR shared.runner: cycle 9 failed: ValueError: bad candle\n"
        "Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n"
        "RuntimeError: crashed before logging was set up\n")
    (tmp_path / "notifier.log").write_text(
        "2026-01-05T11:59:00.000Z notifier CRITICAL shared.notify.notifier: alert #6 critical hybrid/agent_failed: x -> console\n"
        "2026-01-05T11:59:01.000Z notifier CRITICAL tracer.alerts: alert #6: hybrid FAILED\n"
        "2026-01-05T11:59:02.000Z notifier ERROR shared.notify.notifier: alert #6 permanently failed on telegram: 400\n")
    (tmp_path / "supervisord.log").write_text(
        f"{local},101 CRIT Server 'unix_http_server' running without any HTTP authentication checking\n"
        f"{local},102 WARN exited: hybrid (terminated by SIGKILL; not expected)\n"
        f"{local},103 CRIT uncaught exception in the event loop\n")
    found = recent_errors(tmp_path, NOW - timedelta(minutes=15))
    texts = [e.text for e in found]
    assert not any("old news" in t for t in texts)
    assert any("bad candle" in t for t in texts)
    assert any(t == "Traceback: RuntimeError: crashed before logging was set up" for t in texts)
    assert any("permanently failed" in t for t in texts)
    assert not any("alert #6 critical" in t or "alert #6: hybrid" in t for t in texts), "alert echoes are not errors"
    assert any("uncaught exception" in t for t in texts)
    assert not any("HTTP authentication" in t or "not expected" in t for t in texts)
    assert found == sorted(found, key=lambda e: e.ts)
