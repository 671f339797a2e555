"""The watchdog's decisions against a real database, with supervisord replaced by a stand-in and time driven by
the test: restart a hung agent, alert without flooding, give up after R restarts in M minutes, remember it."""
from __future__ import annotations

import fcntl
import json
from datetime import timedelta

from shared.clock import ManualClock
from shared.health.state import load_state
from shared.health.watchdog import ACTION_FAILED, CLEARED, GAVE_UP, RESTARTED, Watchdog

from .helpers import LIMITS, T0, TIMEFRAMES, FakeControl, beats, database, rows, running, state

S = timedelta(seconds=1)


def setup(tmp_path, **limits):  # type: ignore[no-untyped-def]
    conn = database(tmp_path / "t.db")
    clock = ManualClock(T0)
    control = FakeControl({"hybrid": running("hybrid", 100, T0 - S), "futures": running("futures", 200, T0 - S)},
                          clock=clock)
    dog = Watchdog(conn, control, clock, LIMITS.with_(**limits), TIMEFRAMES, lock_dir=tmp_path / "run")
    return conn, clock, control, dog


def hang(conn, clock, control, agent="hybrid", for_s=15):  # type: ignore[no-untyped-def]
    """The agent's current process cycles for 5 s, then nothing for `for_s` seconds."""
    pid = control.programs_now[agent].pid
    start = clock.now()
    beats(conn, agent, pid, start, start + 5 * S)
    clock.advance(timedelta(seconds=5 + for_s))


def alerts(conn):  # type: ignore[no-untyped-def]
    return rows(conn, "SELECT severity, kind, agent, dedup_key, count, body FROM notify_outbox ORDER BY id")


def test_ready_agents_are_left_alone_and_recorded_on_change_only(tmp_path):
    conn, clock, control, dog = setup(tmp_path, record_every_s=60)
    beats(conn, "hybrid", 100, T0, T0 + 5 * S)
    beats(conn, "futures", 200, T0, T0 + 5 * S)
    clock.advance(6 * S)
    for _ in range(10):  # ten rounds, nothing changes: one record per agent, not ten
        assert all(not o.actions for o in dog.check_all())
    assert len(rows(conn, "SELECT id FROM events WHERE kind='watchdog_check'")) == 2
    clock.advance(61 * S)
    beats(conn, "hybrid", 100, clock.now() - S, clock.now())
    beats(conn, "futures", 200, clock.now() - S, clock.now())
    dog.check_all()  # unchanged, but record_every_s passed: recorded again
    assert len(rows(conn, "SELECT id FROM events WHERE kind='watchdog_check'")) == 4
    assert control.calls == [] and alerts(conn) == []


def test_hung_agent_is_restarted_recorded_and_alerted(tmp_path):
    conn, clock, control, dog = setup(tmp_path)
    hang(conn, clock, control)
    beats(conn, "futures", 200, clock.now() - 2 * S, clock.now())
    out = {o.agent: o for o in dog.check_all()}
    assert out["hybrid"].actions == (RESTARTED,) and out["futures"].actions == ()
    assert control.calls == [("restart", "hybrid")]
    ev = rows(conn, "SELECT kind, severity, data FROM events WHERE agent='hybrid' AND kind='watchdog_restart'")
    assert len(ev) == 1 and ev[0]["severity"] == "warning"
    assert json.loads(ev[0]["data"])["problems"] == ["heartbeat_stale"]
    [a] = alerts(conn)
    assert (a["severity"], a["kind"], a["dedup_key"]) == ("warning", "agent_restarted",
                                                          "watchdog_restart:hybrid:heartbeat_stale")
    assert "restart 1 of 3" in a["body"]
    assert load_state(conn, "hybrid").restarts == (clock.now(),)
    # the new process gets its startup grace: the next round does nothing
    clock.advance(2 * S)
    assert dog.check("hybrid").actions == ()


def test_gives_up_after_r_restarts_in_m_minutes_and_remembers_it(tmp_path):
    conn, clock, control, dog = setup(tmp_path, max_restarts=2, restart_window_s=600)
    for _ in range(2):
        hang(conn, clock, control)
        assert dog.check("hybrid").actions == (RESTARTED,)
    hang(conn, clock, control)
    assert dog.check("hybrid").actions == (GAVE_UP,)
    assert control.calls == [("restart", "hybrid"), ("restart", "hybrid"), ("stop", "hybrid")]
    st = load_state(conn, "hybrid")
    assert st.failed and "not ready after 2 restarts in 10 min" in (st.failed_reason or "")
    crit = [a for a in alerts(conn) if a["severity"] == "critical"]
    assert len(crit) == 1 and crit[0]["kind"] == "agent_failed" and crit[0]["dedup_key"] == "agent_failed:hybrid"
    assert rows(conn, "SELECT severity FROM events WHERE kind='watchdog_failed'") == [{"severity": "critical"}]
    # a new watchdog process (restart) reads the mark and leaves the agent alone: no restart, no new alert
    again = Watchdog(conn, control, clock, dog.limits, TIMEFRAMES, lock_dir=tmp_path / "run")
    for _ in range(5):
        clock.advance(30 * S)
        assert again.check("hybrid").actions == ()
    assert control.calls[-1] == ("stop", "hybrid")
    # two restarts folded into one warning (same agent, same incident) plus the one critical
    assert [(a["severity"], a["count"]) for a in alerts(conn)] == [("warning", 2), ("critical", 1)]


def test_restarts_outside_the_window_do_not_count(tmp_path):
    conn, clock, control, dog = setup(tmp_path, max_restarts=2, restart_window_s=60)
    for _ in range(4):
        hang(conn, clock, control)
        assert dog.check("hybrid").actions == (RESTARTED,)
        clock.advance(60 * S)
    assert len(load_state(conn, "hybrid").restarts) == 1


def test_a_person_starting_the_agent_again_clears_the_failed_mark(tmp_path):
    conn, clock, control, dog = setup(tmp_path, max_restarts=1)
    hang(conn, clock, control)
    dog.check("hybrid")
    hang(conn, clock, control)
    assert dog.check("hybrid").actions == (GAVE_UP,)
    clock.advance(60 * S)
    control.start("hybrid")  # e.g. health_check.sh --fix or supervisorctl start
    out = dog.check("hybrid")
    assert out.actions == (CLEARED,) and not load_state(conn, "hybrid").failed
    hang(conn, clock, control)
    assert dog.check("hybrid").actions == (RESTARTED,), "in charge again, with a fresh restart budget"


def test_fatal_is_alerted_once_with_the_listener_key(tmp_path):
    conn, clock, control, dog = setup(tmp_path)
    control.programs_now["hybrid"] = state("hybrid", "FATAL", T0)
    for _ in range(5):
        dog.check("hybrid")
        clock.advance(2 * S)
    [a] = alerts(conn)
    assert (a["severity"], a["dedup_key"], a["count"]) == ("critical", "agent_failed:hybrid", 1)
    assert control.calls == [], "supervisord already gave up; a person decides"


def test_failed_restart_is_recorded_and_counts_toward_escalation(tmp_path):
    conn, clock, control, dog = setup(tmp_path, max_restarts=1)
    control.fail_with = "supervisord refused"
    hang(conn, clock, control)
    assert dog.check("hybrid").actions == (ACTION_FAILED,)
    assert rows(conn, "SELECT severity FROM events WHERE kind='watchdog_action_failed'") == [{"severity": "error"}]
    assert len(load_state(conn, "hybrid").restarts) == 1
    clock.advance(20 * S)
    assert dog.check("hybrid").actions == (GAVE_UP,)


def test_a_second_watchdog_skips_an_agent_another_one_is_acting_on(tmp_path):
    conn, clock, control, dog = setup(tmp_path)
    (tmp_path / "run").mkdir(exist_ok=True)
    with open(tmp_path / "run" / "watchdog_hybrid.lock", "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        assert dog.check("hybrid").skipped
    assert not dog.check("hybrid").skipped


def test_stale_feed_restart_says_what_the_agent_last_decided(tmp_path):
    from shared.audit.db import transaction
    from shared.clock import iso

    conn, clock, control, dog = setup(tmp_path)
    beats(conn, "futures", 200, T0, T0 + 20 * S, data_lag_s=None)
    with transaction(conn):
        conn.execute("INSERT INTO decisions(ts, market_ts, agent, cycle, symbol, action, reason) VALUES (?,?,?,?,?,?,?)",
                     (iso(T0), iso(T0), "futures", 20, "BTC/USDT:USDT", "WAIT",
                      "replay reached the end of bundled data (2026-05-01)"))
    clock.advance(20 * S)
    assert dog.check("futures").actions == (RESTARTED,)
    [a] = alerts(conn)
    assert a["dedup_key"] == "watchdog_restart:futures:feed_stale" and "end of bundled data" in a["body"]
