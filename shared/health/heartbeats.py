"""Read the agents' heartbeats (one row per cycle) into the small window readiness is judged on."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from shared.notify.timefmt import parse_iso

RECENT_LIMIT = 200  # cycles; at the default 1 s cycle about three minutes, far more than any threshold needs


@dataclass(frozen=True)
class Beat:
    ts: datetime                 # wall time of the heartbeat
    pid: int
    cycle: int
    market_ts: datetime | None   # market (sim) time of the cycle; None for a failed cycle
    data_ts: datetime | None     # close of the newest candle the cycle saw
    error: str | None            # None: the cycle succeeded

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def feed_lag_s(self) -> float | None:
        """How far the newest candle trails market time; None when the cycle saw no candle at all."""
        if self.market_ts is None or self.data_ts is None:
            return None
        return (self.market_ts - self.data_ts).total_seconds()


@dataclass(frozen=True)
class HeartbeatView:
    recent: tuple[Beat, ...]     # newest first
    last_ok: Beat | None         # the newest successful cycle, however old

    @property
    def newest(self) -> Beat | None:
        return self.recent[0] if self.recent else None


def _beat(row: sqlite3.Row) -> Beat:
    return Beat(parse_iso(row["ts"]), int(row["pid"]), int(row["cycle"]),
                parse_iso(row["market_ts"]) if row["market_ts"] else None,
                parse_iso(row["data_ts"]) if row["data_ts"] else None, row["last_error"])


def heartbeat_view(conn: sqlite3.Connection, agent: str, limit: int = RECENT_LIMIT) -> HeartbeatView:
    cols = "ts, pid, cycle, market_ts, data_ts, last_error"
    rows = conn.execute(f"SELECT {cols} FROM heartbeats WHERE agent=? ORDER BY id DESC LIMIT ?", (agent, limit)).fetchall()
    recent = tuple(_beat(r) for r in rows)
    last_ok = next((b for b in recent if b.ok), None)
    if last_ok is None and recent:  # a long run of failures: look further back, still by the (agent, id) index
        row = conn.execute(f"SELECT {cols} FROM heartbeats WHERE agent=? AND last_error IS NULL ORDER BY id DESC LIMIT 1",
                           (agent,)).fetchone()
        last_ok = _beat(row) if row else None
    return HeartbeatView(recent, last_ok)


def last_decision_reason(conn: sqlite3.Connection, agent: str) -> str | None:
    """The agent's latest decision reason: says e.g. that the replay reached the end of the bundled data."""
    row = conn.execute("SELECT reason FROM decisions WHERE agent=? ORDER BY id DESC LIMIT 1", (agent,)).fetchone()
    return row[0] if row else None
