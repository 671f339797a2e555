"""The watchdog's persistent memory per agent (table watchdog_state, migration m0004): what it last recorded, when
it restarted the agent, and whether it gave up. Several watchdog processes (supervisord's loop, a cron run) share it."""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from shared.clock import iso
from shared.notify.timefmt import parse_iso


@dataclass(frozen=True)
class WatchdogState:
    agent: str
    signature: str | None = None       # last recorded check result (status:state:problems)
    status: str | None = None
    detail: str | None = None
    recorded_ts: datetime | None = None
    restarts: tuple[datetime, ...] = ()   # watchdog restarts inside the escalation window, oldest first
    failed_ts: datetime | None = None     # set when the watchdog gave up; it then leaves the agent alone
    failed_reason: str | None = None

    @property
    def failed(self) -> bool:
        return self.failed_ts is not None

    def restarts_since(self, since: datetime) -> tuple[datetime, ...]:
        return tuple(t for t in self.restarts if t >= since)

    def with_restart(self, now: datetime, window_s: float) -> "WatchdogState":
        return replace(self, restarts=self.restarts_since(now - timedelta(seconds=window_s)) + (now,))

    def marked_failed(self, now: datetime, reason: str) -> "WatchdogState":
        return replace(self, failed_ts=now, failed_reason=reason)

    def cleared(self) -> "WatchdogState":
        return replace(self, failed_ts=None, failed_reason=None, restarts=())

    def recorded(self, now: datetime, signature: str, status: str, detail: str) -> "WatchdogState":
        return replace(self, signature=signature, status=status, detail=detail, recorded_ts=now)


def load_state(conn: sqlite3.Connection, agent: str) -> WatchdogState:
    row = conn.execute("SELECT * FROM watchdog_state WHERE agent=?", (agent,)).fetchone()
    if row is None:
        return WatchdogState(agent)
    return WatchdogState(agent, row["signature"], row["status"], row["detail"], _dt(row["recorded_ts"]),
                         tuple(parse_iso(t) for t in json.loads(row["restarts"] or "[]")), _dt(row["failed_ts"]),
                         row["failed_reason"])


def all_states(conn: sqlite3.Connection) -> list[WatchdogState]:
    return [load_state(conn, r[0]) for r in conn.execute("SELECT agent FROM watchdog_state ORDER BY agent")]


def save_state(conn: sqlite3.Connection, st: WatchdogState, now: datetime) -> None:
    """Upsert; the caller holds the transaction."""
    conn.execute(
        "INSERT INTO watchdog_state(agent, signature, status, detail, recorded_ts, restarts, failed_ts, failed_reason,"
        " updated_ts) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(agent) DO UPDATE SET signature=excluded.signature,"
        " status=excluded.status, detail=excluded.detail, recorded_ts=excluded.recorded_ts,"
        " restarts=excluded.restarts, failed_ts=excluded.failed_ts, failed_reason=excluded.failed_reason,"
        " updated_ts=excluded.updated_ts",
        (st.agent, st.signature, st.status, st.detail, _iso(st.recorded_ts), json.dumps([iso(t) for t in st.restarts]),
         _iso(st.failed_ts), st.failed_reason, iso(now)))


def _dt(ts: str | None) -> datetime | None:
    return parse_iso(ts) if ts else None


def _iso(ts: datetime | None) -> str | None:
    return iso(ts) if ts else None
