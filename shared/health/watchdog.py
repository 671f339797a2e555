"""The watchdog: restart an agent that is alive but not ready, and stop trying when restarts do not help.

supervisord restarts a process that exits; it cannot see one that is alive but hung (SIGSTOPped, deadlocked, stuck on
a stale feed or failing every cycle). Each check of an agent:

  1. judges readiness (shared.health.readiness) from supervisord's state and the heartbeats;
  2. not ready -> restart it through supervisord and alert (WARNING), unless it was already restarted R times within
     M minutes: then stop it (so it cannot trade on whatever is wrong), mark it failed and alert (CRITICAL). A failed
     agent is left alone until someone starts it again (a later supervisord start time clears the mark);
  3. FATAL in supervisord -> a CRITICAL alert with the event listener's dedup key (a backup if the listener is down);
  4. records the result in the events table when it changes (or every `record_every_s`) and every action always.

Alerts carry a dedup key per agent and incident, so a flapping agent folds into one message plus a count.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from shared.audit.db import transaction
from shared.clock import Clock
from shared.health.config import AGENTS, Thresholds
from shared.health.events import record_event
from shared.health.heartbeats import heartbeat_view, last_decision_reason
from shared.health.locks import agent_lock
from shared.health.programs import Control, ControlError, ProgramState
from shared.health.readiness import FEED_STALE, Readiness, assess
from shared.health.state import WatchdogState, load_state, save_state
from shared.notify import messages
from shared.notify.models import Alert
from shared.notify.outbox import enqueue

log = logging.getLogger(__name__)

RESTARTED, GAVE_UP, CLEARED, ACTION_FAILED = "restarted", "gave_up", "cleared", "action_failed"


@dataclass(frozen=True)
class Outcome:
    agent: str
    readiness: Readiness | None
    actions: tuple[str, ...] = ()
    recorded: bool = False
    skipped: bool = False        # another process held this agent's lock


@dataclass
class _Pending:
    """What one check wants written, in one transaction, after acting."""

    state: WatchdogState
    events: list[tuple[str, str, str, dict]]
    alerts: list[Alert]
    actions: list[str]


class Watchdog:
    def __init__(self, conn: sqlite3.Connection, control: Control, clock: Clock, limits: Thresholds,
                 timeframes: dict[str, int], *, agents: tuple[str, ...] = AGENTS, lock_dir: Path | None = None) -> None:
        self.conn = conn
        self.control = control
        self.clock = clock
        self.limits = limits
        self.timeframes = timeframes
        self.agents = agents
        self.lock_dir = lock_dir

    def check_all(self) -> list[Outcome]:
        return [self.check(agent) for agent in self.agents]

    def check(self, agent: str) -> Outcome:
        with agent_lock(self.lock_dir, agent) as held:
            if not held:
                return Outcome(agent, None, skipped=True)
            return self._check(agent)

    def _check(self, agent: str) -> Outcome:
        now = self.clock.now()
        prog = self.control.programs().get(agent)
        readiness = assess(agent, prog, heartbeat_view(self.conn, agent), now, self.limits, self.timeframes.get(agent))
        loaded = load_state(self.conn, agent)
        pending = _Pending(loaded, [], [], [])
        self._clear_if_restarted_by_someone(pending, prog, now)
        if readiness.needs_restart:
            readiness = self._with_context(readiness)
            self._restart_or_give_up(pending, readiness, now)
        elif prog is not None and prog.state == "FATAL" and readiness.signature != pending.state.signature:
            pending.alerts.append(messages.agent_failed(
                agent, f"supervisord gave up starting it (FATAL): {prog.description or 'see its log'}"))
        recorded = self._record_result(pending, readiness, now)
        if pending.state != loaded or pending.events or pending.alerts:  # a quiet check writes nothing
            self._write(pending, now)
        return Outcome(agent, readiness, tuple(pending.actions), recorded)

    # -- decisions -------------------------------------------------------------------------------------
    def _clear_if_restarted_by_someone(self, p: _Pending, prog: ProgramState | None, now: datetime) -> None:
        st = p.state
        if not st.failed or prog is None or prog.down or not prog.started_at or st.failed_ts is None:
            return
        if prog.started_at > st.failed_ts.timestamp():
            p.state = st.cleared()
            p.actions.append(CLEARED)
            p.events.append(("watchdog_cleared", "info",
                             f"{st.agent} was started again after the watchdog gave up; the watchdog is back in charge",
                             {"failed_ts": st.failed_ts, "failed_reason": st.failed_reason}))

    def _restart_or_give_up(self, p: _Pending, r: Readiness, now: datetime) -> None:
        st, lim = p.state, self.limits
        if st.failed:
            return  # gave up already: a person has been told; restarting again would only repeat the incident
        window_min = lim.restart_window_s / 60
        recent = st.restarts_since(now - timedelta(seconds=lim.restart_window_s))
        data = {"problems": list(r.problems), "metrics": r.metrics, "restarts_in_window": len(recent),
                "max_restarts": lim.max_restarts, "window_min": window_min}
        if len(recent) >= lim.max_restarts:
            try:
                did = self.control.stop(r.agent, lim.kill_grace_s)
            except ControlError as exc:
                did = f"could not stop it: {exc}"
            reason = f"not ready after {len(recent)} restarts in {window_min:g} min: {r.detail}"
            p.state = st.marked_failed(now, reason)
            p.actions.append(GAVE_UP)
            p.events.append(("watchdog_failed", "critical", f"{r.agent} marked failed: {reason}; {did}", data))
            p.alerts.append(messages.agent_failed(
                r.agent, f"The watchdog restarted it {len(recent)} times in {window_min:g} min and it is still not "
                         f"ready: {r.detail}.\nIt {did} and will not restart it again."))
            return
        try:
            did = self.control.restart(r.agent, lim.kill_grace_s)
        except ControlError as exc:
            p.state = st.with_restart(now, lim.restart_window_s)  # counts: a restart that cannot be done must escalate
            p.actions.append(ACTION_FAILED)
            p.events.append(("watchdog_action_failed", "error", f"restart of {r.agent} failed: {exc}", data))
            p.alerts.append(_keyed(messages.health_check_failed(
                "watchdog restart", f"{r.agent} is not ready ({r.detail}) and the restart failed: {exc}", agent=r.agent),
                f"watchdog_restart_failed:{r.agent}"))
            return
        n = len(recent) + 1
        p.state = st.with_restart(now, lim.restart_window_s)
        p.actions.append(RESTARTED)
        p.events.append(("watchdog_restart", "warning", f"restarted {r.agent}: {r.detail} ({did})",
                         {**data, "restarts_in_window": n, "action": did}))
        p.alerts.append(_keyed(messages.agent_restarted(
            r.agent, f"not ready: {r.detail}\nThe watchdog restarted it ({did}).\n"
                     f"restart {n} of {lim.max_restarts} allowed in {window_min:g} min"),
            f"watchdog_restart:{r.agent}:{r.problems[0]}"))

    def _with_context(self, r: Readiness) -> Readiness:
        """A stale feed at the end of the bundled data is not a bug: say so in the alert."""
        if FEED_STALE not in r.problems:
            return r
        reason = last_decision_reason(self.conn, r.agent)
        return replace(r, detail=f"{r.detail}; last decision: {reason}") if reason else r

    def _record_result(self, p: _Pending, r: Readiness, now: datetime) -> bool:
        """Check results go to the events table on change, or every record_every_s while unchanged."""
        st = p.state
        due = st.recorded_ts is None or (now - st.recorded_ts).total_seconds() >= self.limits.record_every_s
        if r.signature == st.signature and not due and not p.actions:
            return False
        p.events.append(("watchdog_check", r.status.event_severity, f"{r.agent} {r.state}: {r.detail}",
                         {"status": r.status.value, "state": r.state, "problems": list(r.problems),
                          "metrics": r.metrics}))
        p.state = p.state.recorded(now, r.signature, r.status.value, r.detail)
        return True

    def _write(self, p: _Pending, now: datetime) -> None:
        with transaction(self.conn):
            save_state(self.conn, p.state, now)
            for kind, severity, message, data in p.events:
                record_event(self.conn, now, p.state.agent, kind, message, severity, data)
            for alert in p.alerts:
                enqueue(self.conn, alert, now=now)
        for kind, _severity, message, _data in p.events:
            if kind != "watchdog_check":
                log.warning("%s: %s", kind, message)

    # -- the loop --------------------------------------------------------------------------------------
    def run(self, stop: threading.Event, interval_s: float) -> None:
        """Check every agent every `interval_s` until `stop` is set; a database hiccup skips one round."""
        while not stop.is_set():
            started = time.monotonic()
            try:
                for outcome in self.check_all():
                    if outcome.actions:
                        log.info("%s: %s", outcome.agent, ", ".join(outcome.actions))
            except sqlite3.Error as exc:
                log.error("watchdog round skipped, database error: %s", exc)
            except Exception:  # noqa: BLE001 - a bug in one round must not stop the watchdog
                log.exception("watchdog round failed")
            stop.wait(max(0.0, interval_s - (time.monotonic() - started)))


def _keyed(alert: Alert, key: str) -> Alert:
    return replace(alert, dedup_key=key)
