"""Helpers for the health tests: a migrated database, heartbeats written at chosen times, and a supervisord
stand-in whose programs the test sets (the real supervisord is exercised by the system tests)."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from shared.audit.db import connect, transaction
from shared.audit.migrations import migrate
from shared.clock import iso
from shared.health.config import HealthSettings, Thresholds
from shared.health.programs import ControlError, ProgramState

ROOT_DIR = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)
MARKET0 = datetime(2025, 3, 1, tzinfo=timezone.utc)
LIMITS = Thresholds.derive(HealthSettings(), cycle_seconds=1.0)  # stale after 10 s, 3 restarts in 30 min
TIMEFRAMES = {"hybrid": 300, "futures": 3600}


def database(path: Path) -> sqlite3.Connection:
    conn = connect(path)
    migrate(conn)
    return conn


def beat(conn: sqlite3.Connection, agent: str, pid: int, at: datetime, *, cycle: int = 1, error: str | None = None,
         market: datetime | None = None, data_lag_s: float | None = 60.0) -> None:
    """One heartbeat at wall time `at`; market time defaults to MARKET0 + the wall offset from T0 × 1800."""
    market = market or MARKET0 + (at - T0) * 1800
    data = None if error or data_lag_s is None else market - timedelta(seconds=data_lag_s)
    with transaction(conn):
        conn.execute("INSERT INTO heartbeats(ts, agent, pid, cycle, cycle_seconds, market_ts, data_ts, last_error)"
                     " VALUES (?,?,?,?,?,?,?,?)", (iso(at), agent, pid, cycle, 0.05, None if error else iso(market),
                                                   iso(data) if data else None, error))


def beats(conn: sqlite3.Connection, agent: str, pid: int, start: datetime, end: datetime, step_s: float = 1.0,
          **kw: object) -> int:
    """A heartbeat every `step_s` from start to end (inclusive); returns how many."""
    n, at = 0, start
    while at <= end:
        n += 1
        beat(conn, agent, pid, at, cycle=n, **kw)  # type: ignore[arg-type]
        at += timedelta(seconds=step_s)
    return n


def running(name: str, pid: int, started: datetime, os_status: str = "sleeping") -> ProgramState:
    return ProgramState(name, "RUNNING", pid, started.timestamp(), f"pid {pid}", None, os_status)


def state(name: str, statename: str, started: datetime | None = None) -> ProgramState:
    return ProgramState(name, statename, None, started.timestamp() if started else None, statename.lower())


@dataclass
class FakeControl:
    """Programs as the test sets them; start/stop/restart change them like supervisord would and are logged."""

    programs_now: dict[str, ProgramState] = field(default_factory=dict)
    up: bool = True
    calls: list[tuple[str, str]] = field(default_factory=list)
    fail_with: str | None = None
    clock: object | None = None
    next_pid: int = 5000

    def available(self) -> bool:
        return self.up

    def programs(self) -> dict[str, ProgramState]:
        return dict(self.programs_now) if self.up else {}

    def _now(self) -> datetime:
        return self.clock.now() if self.clock is not None else T0  # type: ignore[attr-defined]

    def start(self, name: str) -> str:
        self.calls.append(("start", name))
        if self.fail_with:
            raise ControlError(self.fail_with)
        self.next_pid += 1
        self.programs_now[name] = running(name, self.next_pid, self._now())
        return f"started {name}"

    def stop(self, name: str, kill_grace_s: float) -> str:
        self.calls.append(("stop", name))
        if self.fail_with:
            raise ControlError(self.fail_with)
        prev = self.programs_now.get(name)
        self.programs_now[name] = replace(prev, state="STOPPED", pid=None) if prev else state(name, "STOPPED")
        return f"stopped {name}"

    def restart(self, name: str, kill_grace_s: float) -> str:
        self.calls.append(("restart", name))
        if self.fail_with:
            raise ControlError(self.fail_with)
        self.next_pid += 1
        self.programs_now[name] = running(name, self.next_pid, self._now())
        return f"restarted {name}"


def rows(conn: sqlite3.Connection, sql: str, *args: object) -> list[dict]:
    return [dict(r) for r in conn.execute(sql, args).fetchall()]
