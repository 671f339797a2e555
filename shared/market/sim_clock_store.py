"""The fleet's shared replay clock, anchored in the database so every process sees one market time."""
from __future__ import annotations

import sqlite3
import time
from datetime import datetime

from shared.audit.db import transaction
from shared.clock import ReplayClock, iso, utc_now


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def anchor(conn: sqlite3.Connection, sim_start: datetime, rate: float, wall: float | None = None) -> ReplayClock:
    """(Re)anchor the clock: market time `sim_start` at wall time `wall` (now), running at `rate`."""
    wall = time.time() if wall is None else wall
    with transaction(conn):
        conn.execute("INSERT INTO sim_clock(id, sim_start, wall_epoch, rate, created_ts) VALUES (1,?,?,?,?)"
                     " ON CONFLICT(id) DO UPDATE SET sim_start=excluded.sim_start, wall_epoch=excluded.wall_epoch,"
                     " rate=excluded.rate", (iso(sim_start), wall, rate, iso(utc_now())))
    return ReplayClock(sim_start, wall, rate)


def resume_point(conn: sqlite3.Connection, default_start: datetime) -> datetime:
    """Where a (re)started fleet resumes the replay: the newest market time any agent reached, else the start.

    A stopped fleet pauses the market: without this a fleet stopped for a day would come back years later.
    """
    row = conn.execute("SELECT max(market_ts) FROM heartbeats").fetchone()
    return _parse(row[0]) if row and row[0] else default_start


def load(conn: sqlite3.Connection) -> ReplayClock | None:
    row = conn.execute("SELECT sim_start, wall_epoch, rate FROM sim_clock WHERE id=1").fetchone()
    return ReplayClock(_parse(row[0]), row[1], row[2]) if row else None


class StoredReplayClock:
    """A Clock that re-reads the anchor on every call, so a re-anchor (fleet start, a test) is seen at once."""

    def __init__(self, conn: sqlite3.Connection, default_start: datetime, rate: float,
                 end: datetime | None = None) -> None:
        self._conn = conn
        # the market stops where the bundled data ends: past it there is nothing to replay, and a clock that ran
        # on would make a healthy agent look like one with a stale feed
        self._end = end
        with transaction(conn):  # OR IGNORE: two agents starting at once must not re-anchor each other
            conn.execute("INSERT OR IGNORE INTO sim_clock(id, sim_start, wall_epoch, rate, created_ts) VALUES (1,?,?,?,?)",
                         (iso(default_start), time.time(), rate, iso(utc_now())))

    def now(self) -> datetime:
        clock = load(self._conn)
        assert clock is not None
        now = clock.now()
        return min(now, self._end) if self._end is not None else now
