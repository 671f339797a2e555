"""Clocks injected into the cycle: wall time for live venues, a replay clock for sim, a manual one for tests."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Protocol


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso(ts: datetime) -> str:
    """UTC ISO-8601 with a Z, to the millisecond: the one timestamp format in the database."""
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


class Clock(Protocol):
    def now(self) -> datetime: ...


class WallClock:
    def now(self) -> datetime:
        return utc_now()


@dataclass
class ReplayClock:
    """Market time that runs `rate` sim seconds per wall second from `sim_start` at wall time `wall_epoch`.

    Both agents build it from the same anchor in the database, so they share one market time, and it keeps
    running while an agent is down (as a real market would).
    """

    sim_start: datetime
    wall_epoch: float
    rate: float
    wall: Callable[[], float] = field(default=time.time, repr=False)

    def now(self) -> datetime:
        return self.sim_start + timedelta(seconds=max(0.0, self.wall() - self.wall_epoch) * self.rate)


@dataclass
class ManualClock:
    """A clock a test or backtest moves by hand."""

    current: datetime

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> datetime:
        self.current += delta
        return self.current
