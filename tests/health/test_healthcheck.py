"""The health check on a real database with supervisord replaced by a stand-in: what each state reports, the exit
code, --notify (alert once, recovery once) and --fix (start what is down, clear the watchdog's failed mark)."""
from __future__ import annotations

import json
from datetime import timedelta

from shared.audit.db import transaction
from shared.health import healthcheck
from shared.health.checks import FleetPlaces, HostLimits
from shared.health.report import render_table
from shared.health.state import WatchdogState, load_state, save_state
from shared.health.status import Status

from .helpers import LIMITS, T0, TIMEFRAMES, FakeControl, beats, database, rows, running, state

S = timedelta(seconds=1)
# the machine running the tests is not under test: its load, memory and disk never change a verdict here
HOST = HostLimits(cpu_sample_s=0.0, load_warn_per_core=1e9, cpu_warn_pct=101, disk_warn_free_pct=0, disk_crit_free_pct=0,
                  disk_warn_free_bytes=0, disk_crit_free_bytes=0, mem_warn_available_pct=0, mem_crit_available_pct=0)


def fleet(tmp_path):  # type: ignore[no-untyped-def]
    conn = database(tmp_path / "t.db")
    places = FleetPlaces(tmp_path, tmp_path / "t.db", tmp_path / "logs", tmp_path / "run", "sim")
    now = T0 + 30 * S
    control = FakeControl({
        "hybrid": running("hybrid", 100, T0), "futures": running("futures", 200, T0),
        "watchdog": running("watchdog", 300, T0), "notifier": running("notifier", 301, T0),
        "alerts": running("alerts", 302, T0)})
    beats(conn, "hybrid", 100, T0, now)
    beats(conn, "futures", 200, T0, now)
    return conn, places, control, now


def by_name(report):  # type: ignore[no-untyped-def]
    return {c.name: c for c in report.checks}


def test_a_healthy_fleet_is_ok(tmp_path):
    conn, places, control, now = fleet(tmp_path)
    report = healthcheck.gather(places, LIMITS, HOST, TIMEFRAMES, control, now)
    checks = by_name(report)
    assert report.status is Status.OK and report.exit_code == 0, [c for c in report.checks if c.status.rank]
    assert "last successful cycle #31 0s ago" in checks["agent hybrid"].detail
    assert checks["database"].data["quick_check"] == ["ok"]
    for name in ("venue reachability", "clock skew", "positions vs venue"):
        assert (checks[name].status, checks[name].detail) == (Status.NA, "n/a in sim")
    for name in ("program watchdog", "program notifier", "program alerts", "disk", "memory", "cpu",
                 "alerts outbox", "alert deliveries", "recent log errors"):
        assert name in checks
    as_json = json.loads(report.to_json())
    assert as_json["status"] == "ok" and as_json["exit_code"] == 0 and as_json["mode"] == "sim"
    assert {"name", "status", "detail", "data"} <= set(as_json["checks"][0])


def test_a_stopped_agent_is_critical_and_a_hung_one_too(tmp_path):
    conn, places, control, now = fleet(tmp_path)
    control.programs_now["futures"] = state("futures", "STOPPED", T0)
    report = healthcheck.gather(places, LIMITS, HOST, TIMEFRAMES, control, now + 20 * S)
    checks = by_name(report)
    assert report.exit_code == 2
    assert checks["agent futures"].status is Status.CRITICAL and "STOPPED" in checks["agent futures"].detail
    assert checks["agent hybrid"].status is Status.CRITICAL and "no successful cycle for 20s" in checks["agent hybrid"].detail


def test_supervisord_down_is_critical(tmp_path):
    conn, places, control, now = fleet(tmp_path)
    control.up = False
    report = healthcheck.gather(places, LIMITS, HOST, TIMEFRAMES, control, now)
    assert report.exit_code == 2 and by_name(report)["supervisord"].status is Status.CRITICAL


def test_watchdog_failed_mark_is_critical_until_fixed(tmp_path):
    conn, places, control, now = fleet(tmp_path)
    with transaction(conn):
        save_state(conn, WatchdogState("hybrid", failed_ts=now, failed_reason="not ready after 3 restarts"), now)
    control.programs_now["hybrid"] = state("hybrid", "STOPPED", T0)
    report = healthcheck.gather(places, LIMITS, HOST, TIMEFRAMES, control, now)
    assert "watchdog gave up" in by_name(report)["agent hybrid"].detail
    actions = healthcheck.fix(places, LIMITS, TIMEFRAMES, control, now, lambda: (True, ""), wait_s=1)
    assert actions == ["started hybrid"] and control.calls == [("start", "hybrid")]
    assert not load_state(conn, "hybrid").failed
    kinds = [r["kind"] for r in rows(conn, "SELECT kind FROM events WHERE agent='hybrid' ORDER BY id")]
    assert kinds == ["health_fix", "watchdog_cleared"]


def test_fix_restarts_a_hung_agent_and_starts_the_fleet_when_supervisord_is_down(tmp_path):
    conn, places, control, now = fleet(tmp_path)
    actions = healthcheck.fix(places, LIMITS, TIMEFRAMES, control, now + 20 * S, lambda: (True, ""), wait_s=1)
    assert [c for c in control.calls] == [("restart", "hybrid"), ("restart", "futures")]
    assert all("not ready" in a for a in actions)
    control.up = False
    assert healthcheck.fix(places, LIMITS, TIMEFRAMES, control, now, lambda: (True, "")) == [
        "started the fleet (supervisord was not running)"]


def test_notify_alerts_once_per_problem_set_and_once_on_recovery(tmp_path):
    conn, places, control, now = fleet(tmp_path)
    control.programs_now["futures"] = state("futures", "STOPPED", T0)
    bad = healthcheck.gather(places, LIMITS, HOST, TIMEFRAMES, control, now)
    assert healthcheck.notify(conn, bad) == "critical"
    assert healthcheck.notify(conn, bad) == "critical"  # the next cron run: folded, not sent again
    control.programs_now["futures"] = running("futures", 200, T0)
    good = healthcheck.gather(places, LIMITS, HOST, TIMEFRAMES, control, now)
    assert healthcheck.notify(conn, good) == "recovered"
    assert healthcheck.notify(conn, good) is None
    out = rows(conn, "SELECT severity, kind, count FROM notify_outbox ORDER BY id")
    assert out == [{"severity": "critical", "kind": "health_check_failed", "count": 2},
                   {"severity": "info", "kind": "health_check_recovered", "count": 1}]
    assert len(rows(conn, "SELECT id FROM events WHERE kind='health_check'")) == 4


def test_outbox_backlog_and_failed_deliveries(tmp_path):
    from shared.notify import enqueue_alert

    conn, places, control, now = fleet(tmp_path)
    enqueue_alert(conn, "warning", "x", "t", "b", now=now - 600 * S)  # never routed: is the notifier running?
    with transaction(conn):
        conn.execute("INSERT INTO notify_deliveries(outbox_id, channel, status, attempts, next_attempt_ts, last_error,"
                     " created_ts, updated_ts) VALUES (1, 'telegram', 'failed', 3, ?, 'Forbidden: bot was blocked', ?, ?)",
                     ("2026-01-05T11:50:00.000Z", "2026-01-05T11:50:00.000Z", "2026-01-05T11:55:00.000Z"))
    checks = by_name(healthcheck.gather(places, LIMITS, HOST, TIMEFRAMES, control, now))
    assert checks["alerts outbox"].status is Status.WARNING and "not yet routed 1" in checks["alerts outbox"].detail
    assert checks["alert deliveries"].status is Status.WARNING and "bot was blocked" in checks["alert deliveries"].detail


def test_table_rendering_names_every_check(tmp_path):
    from rich.console import Console

    conn, places, control, now = fleet(tmp_path)
    console = Console(record=True, width=160)
    console.print(render_table(healthcheck.gather(places, LIMITS, HOST, TIMEFRAMES, control, now)))
    text = console.export_text()
    assert "Tracer health: OK" in text and "agent futures" in text and "n/a in sim" in text
