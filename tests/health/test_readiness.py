"""Readiness judged from supervisord's view and heartbeats at a given time (no processes, no sleeping)."""
from __future__ import annotations

from datetime import timedelta

from shared.health.heartbeats import heartbeat_view
from shared.health.readiness import (DOWN, ERROR_RATE, FEED_STALE, HEARTBEAT_STALE, NOT_READY, READY, STARTING,
                                     TRANSIENT, assess)
from shared.health.status import Status

from .helpers import LIMITS, T0, TIMEFRAMES, beat, beats, database, running, state

S = timedelta(seconds=1)


def judge(conn, prog, now, agent="hybrid", limits=LIMITS):  # type: ignore[no-untyped-def]
    return assess(agent, prog, heartbeat_view(conn, agent), now, limits, TIMEFRAMES[agent])


def test_fresh_cycles_are_ready(tmp_path):
    conn = database(tmp_path / "t.db")
    beats(conn, "hybrid", 100, T0, T0 + 30 * S)
    r = judge(conn, running("hybrid", 100, T0 - S), T0 + 31 * S)
    assert (r.state, r.status, r.problems) == (READY, Status.OK, ())
    assert r.metrics["last_ok_age_s"] == 1.0 and not r.needs_restart


def test_no_successful_cycle_beyond_the_threshold_is_hung(tmp_path):
    conn = database(tmp_path / "t.db")
    beats(conn, "hybrid", 100, T0, T0 + 30 * S)
    prog = running("hybrid", 100, T0 - S, os_status="stopped")
    assert judge(conn, prog, T0 + 40 * S).state == READY  # 10 s: at the limit, not past it
    r = judge(conn, prog, T0 + 41 * S)
    assert r.state == NOT_READY and r.needs_restart and r.problems == (HEARTBEAT_STALE,)
    assert "no successful cycle for 11s" in r.detail and "SIGSTOP" in r.detail


def test_failed_cycles_do_not_count_as_alive(tmp_path):
    conn = database(tmp_path / "t.db")
    beats(conn, "hybrid", 100, T0, T0 + 5 * S)
    beats(conn, "hybrid", 100, T0 + 6 * S, T0 + 20 * S, error="ValueError: boom")
    r = judge(conn, running("hybrid", 100, T0 - S), T0 + 20 * S)
    assert r.state == NOT_READY and HEARTBEAT_STALE in r.problems and ERROR_RATE in r.problems


def test_a_new_process_gets_a_startup_grace_and_is_not_judged_on_its_predecessor(tmp_path):
    conn = database(tmp_path / "t.db")
    beats(conn, "hybrid", 100, T0, T0 + 10 * S)       # the old process, long gone
    prog = running("hybrid", 200, T0 + 60 * S)         # restarted, no cycle yet
    r = judge(conn, prog, T0 + 70 * S)
    assert r.state == STARTING and r.status is Status.OK
    r = judge(conn, prog, T0 + 60 * S + timedelta(seconds=LIMITS.startup_grace_s + 1))
    assert r.state == NOT_READY and "since it started" in r.detail
    beat(conn, "hybrid", 200, T0 + 75 * S)
    assert judge(conn, prog, T0 + 76 * S).state == READY


def test_stale_feed_needs_to_last_before_it_counts(tmp_path):
    conn = database(tmp_path / "t.db")
    prog = running("hybrid", 100, T0 - S)
    beats(conn, "hybrid", 100, T0, T0 + 20 * S)                                   # fresh: 60 s lag
    beats(conn, "hybrid", 100, T0 + 21 * S, T0 + 25 * S, data_lag_s=3 * 3600)     # a 3 h data gap starts
    r = judge(conn, prog, T0 + 25 * S)
    assert r.state == READY, "a gap shorter than the wall-time threshold is tolerated"
    beats(conn, "hybrid", 100, T0 + 26 * S, T0 + 32 * S, data_lag_s=3 * 3600)
    r = judge(conn, prog, T0 + 32 * S)
    assert r.state == NOT_READY and r.problems == (FEED_STALE,)
    assert "market data stale for 12s" in r.detail and "3 bars" in r.detail


def test_no_candle_at_all_is_a_stale_feed(tmp_path):
    conn = database(tmp_path / "t.db")
    beats(conn, "futures", 100, T0, T0 + 20 * S, data_lag_s=None)
    r = judge(conn, running("futures", 100, T0 - S), T0 + 20 * S, agent="futures")
    assert r.problems == (FEED_STALE,) and "no candle" in r.detail


def test_some_errors_warn_many_errors_restart(tmp_path):
    conn = database(tmp_path / "t.db")
    prog = running("hybrid", 100, T0 - S)
    for i in range(20):
        beat(conn, "hybrid", 100, T0 + i * S, error="boom" if i % 3 == 0 else None)  # 7 of 20 fail
    r = judge(conn, prog, T0 + 20 * S)
    assert (r.state, r.status) == (READY, Status.WARNING) and "35%" in r.detail
    for i in range(20, 40):
        beat(conn, "hybrid", 100, T0 + i * S, error="boom" if i % 2 == 0 else None)
    r = judge(conn, prog, T0 + 40 * S)
    assert r.problems == (ERROR_RATE,) and "50% of the last 20 cycles failed" in r.detail


def test_supervisord_states(tmp_path):
    conn = database(tmp_path / "t.db")
    assert judge(conn, None, T0).state == DOWN
    for name, expected in (("FATAL", DOWN), ("STOPPED", DOWN), ("EXITED", DOWN), ("BACKOFF", TRANSIENT),
                           ("STARTING", TRANSIENT)):
        r = judge(conn, state("hybrid", name, T0), T0)
        assert r.state == expected and not r.needs_restart, name
        assert r.status is (Status.CRITICAL if expected == DOWN else Status.WARNING)


def test_threshold_follows_the_cycle_interval():
    from shared.health.config import HealthSettings, Thresholds

    assert Thresholds.derive(HealthSettings(), 1.0).stale_s == 10.0
    assert Thresholds.derive(HealthSettings(), 0.2).stale_s == 10.0
    assert Thresholds.derive(HealthSettings(), 60.0).stale_s == 600.0
    assert Thresholds.derive(HealthSettings(watchdog_stale_s=4), 60.0).stale_s == 4.0
