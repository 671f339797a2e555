"""The agent's durable risk and trade state (tables of migration v5), so that a restart rebuilds it exactly:

- risk_states     ACTIVE / REDUCING / HALTED per scope (agent, or 'fleet'); changed by compare-and-set, so when both
                  agents see the same fleet breach only one records the event. Every change is an events row
                  (kind 'risk_state') and an alert in the notification outbox.
- equity_marks    peak and UTC-day start equity per scope: the references of the drawdown and daily-loss limits.
- agent_controls  the operator's standing order: RUN, PAUSED (no entries, no discretionary exits) or STOPENTRY.
- trade_states    the trade phase per symbol (shared.execution.trade_state).
"""
from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.audit.db import transaction
from shared.clock import iso, utc_now
from shared.execution.trade_state import IllegalPhaseChange, TradePhase, phase_path
from shared.risk.fleet_state import StateEvent, TradingMode, TradingState, restore_state

log = logging.getLogger(__name__)
CONTROL_MODES = ("RUN", "PAUSED", "STOPENTRY")
_SEVERITY = {TradingMode.HALTED: "critical", TradingMode.REDUCING: "warning", TradingMode.ACTIVE: "info"}


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def enqueue_alert(conn: sqlite3.Connection, severity: str, kind: str, title: str, body: str, agent: str,
                  data: dict[str, Any] | None = None, dedup_key: str | None = None) -> None:
    """An alert through the notification outbox when that module exists (joins the caller's transaction);
    otherwise the events row the caller writes is the record."""
    try:
        from shared.notify.outbox import enqueue_alert as enqueue
    except ImportError:  # pragma: no cover - the notify package is optional for this module
        return
    try:
        enqueue(conn, severity, kind, title, body, agent=agent, data=data, dedup_key=dedup_key)
    except sqlite3.OperationalError as exc:  # e.g. an old schema without the outbox: the events row stays
        log.warning("alert not queued (%s): %s", exc, title)


@dataclass(frozen=True)
class EquityMarks:
    day: str
    day_start_equity: float
    peak_equity: float


class StateStore:
    def __init__(self, conn: sqlite3.Connection, agent: str) -> None:
        self.conn = conn
        self.agent = agent
        self._seen: dict[str, tuple[str, str] | None] = {}  # scope -> (mode, since) as read, for compare-and-set

    # -- ACTIVE / REDUCING / HALTED --------------------------------------------------------------------------
    def risk_state(self, scope: str, now: datetime) -> TradingState:
        row = self.conn.execute("SELECT * FROM risk_states WHERE scope=?", (scope,)).fetchone()
        if row is None:
            self._seen[scope] = None
            return restore_state(scope, None, now)
        self._seen[scope] = (row["mode"], row["since"])
        return restore_state(scope, {"scope": scope, "mode": row["mode"], "since": row["since"], "reason": row["reason"],
                                     "rule": row["rule"], "flatten": bool(row["flatten"])}, now)

    def save_transition(self, ev: StateEvent, market_ts: datetime) -> bool:
        """Persist a transition if the scope still is in the state we read (compare-and-set); record the event and
        queue an alert. False when another process moved the scope first (the caller re-reads it)."""
        st = ev.state_after()
        rec = st.to_record()
        now = iso(utc_now())
        seen = self._seen.get(ev.scope)
        with transaction(self.conn):
            if seen is None:
                cur = self.conn.execute(
                    "INSERT OR IGNORE INTO risk_states(scope, mode, since, rule, reason, flatten, updated_ts)"
                    " VALUES (?,?,?,?,?,?,?)", (ev.scope, rec["mode"], rec["since"], st.rule, st.reason, int(st.flatten), now))
            else:
                cur = self.conn.execute(
                    "UPDATE risk_states SET mode=?, since=?, rule=?, reason=?, flatten=?, updated_ts=?"
                    " WHERE scope=? AND mode=? AND since=?",
                    (rec["mode"], rec["since"], st.rule, st.reason, int(st.flatten), now, ev.scope, seen[0], seen[1]))
            if not cur.rowcount:
                return False
            data = {**ev.to_record(), "agent": self.agent, "market_ts": iso(market_ts)}
            severity = _SEVERITY[ev.to_mode]
            self.conn.execute("INSERT INTO events(ts, agent, kind, severity, message, data) VALUES (?,?,?,?,?,?)",
                              (now, self.agent, "risk_state", severity, ev.message, json.dumps(data, default=str)))
            enqueue_alert(self.conn, severity, "risk_state", f"{ev.scope} {ev.from_mode.value} -> {ev.to_mode.value}",
                          ev.message, agent=self.agent if ev.scope == self.agent else "fleet", data=data)
        self._seen[ev.scope] = (rec["mode"], rec["since"])
        return True

    # -- equity marks ------------------------------------------------------------------------------------------
    def update_marks(self, scope: str, equity: float, now: datetime) -> EquityMarks:
        """Peak = max(peak, equity); on a new UTC day (market time) the day start becomes this equity."""
        day = now.date().isoformat()
        ts = iso(utc_now())
        with transaction(self.conn):
            self.conn.execute(
                "INSERT OR IGNORE INTO equity_marks(scope, day, day_start_equity, peak_equity, peak_market_ts, updated_ts)"
                " VALUES (?,?,?,?,?,?)", (scope, day, equity, equity, iso(now), ts))
            self.conn.execute(
                "UPDATE equity_marks SET day_start_equity = CASE WHEN day != ? THEN ? ELSE day_start_equity END,"
                " day=?, peak_market_ts = CASE WHEN ? > peak_equity THEN ? ELSE peak_market_ts END,"
                " peak_equity = max(peak_equity, ?), updated_ts=? WHERE scope=?",
                (day, equity, day, equity, iso(now), equity, ts, scope))
            row = self.conn.execute("SELECT * FROM equity_marks WHERE scope=?", (scope,)).fetchone()
        return EquityMarks(row["day"], float(row["day_start_equity"]), float(row["peak_equity"]))

    def rebase_marks(self, scope: str, equity: float, now: datetime) -> None:
        """After an operator resume: peak and day start are measured from here (else the same breach halts again)."""
        ts = iso(utc_now())
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO equity_marks(scope, day, day_start_equity, peak_equity, peak_market_ts, rebased_ts, updated_ts)"
                " VALUES (?,?,?,?,?,?,?) ON CONFLICT(scope) DO UPDATE SET day=excluded.day,"
                " day_start_equity=excluded.day_start_equity, peak_equity=excluded.peak_equity,"
                " peak_market_ts=excluded.peak_market_ts, rebased_ts=excluded.rebased_ts, updated_ts=excluded.updated_ts",
                (scope, now.date().isoformat(), equity, equity, iso(now), iso(now), ts))

    # -- operator controls -----------------------------------------------------------------------------------
    def control_mode(self) -> str:
        row = self.conn.execute("SELECT mode FROM agent_controls WHERE agent=?", (self.agent,)).fetchone()
        return row["mode"] if row else "RUN"

    def set_control_mode(self, mode: str, requested_by: str, request_id: int | None, now: datetime) -> None:
        if mode not in CONTROL_MODES:
            raise ValueError(f"control mode {mode!r} not one of {CONTROL_MODES}")
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO agent_controls(agent, mode, since, requested_by, request_id, updated_ts) VALUES (?,?,?,?,?,?)"
                " ON CONFLICT(agent) DO UPDATE SET mode=excluded.mode, since=excluded.since,"
                " requested_by=excluded.requested_by, request_id=excluded.request_id, updated_ts=excluded.updated_ts",
                (self.agent, mode, iso(now), requested_by, request_id, iso(utc_now())))

    # -- trade phases ----------------------------------------------------------------------------------------
    def phases(self) -> dict[str, TradePhase]:
        return {r["symbol"]: TradePhase(r["phase"]) for r in
                self.conn.execute("SELECT symbol, phase FROM trade_states WHERE agent=?", (self.agent,))}

    def set_phase(self, symbol: str, phase: TradePhase, now: datetime, reason: str, old: TradePhase | None,
                  position_id: int | None = None, cooldown_until: datetime | None = None) -> list[TradePhase]:
        """Move the symbol's phase along legal steps (shared.execution.trade_state); returns the steps taken."""
        if old == phase:
            return []
        try:
            steps = phase_path(old, phase) if old is not None else [phase]
        except IllegalPhaseChange as exc:  # pragma: no cover - every phase is reachable; kept as a guard
            log.error("%s %s", symbol, exc)
            steps = [phase]
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO trade_states(agent, symbol, phase, since, reason, position_id, cooldown_until, updated_ts)"
                " VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(agent, symbol) DO UPDATE SET phase=excluded.phase,"
                " since=excluded.since, reason=excluded.reason, position_id=excluded.position_id,"
                " cooldown_until=excluded.cooldown_until, updated_ts=excluded.updated_ts",
                (self.agent, symbol, phase.value, iso(now), reason[:500], position_id,
                 iso(cooldown_until) if cooldown_until else None, iso(utc_now())))
        return steps
