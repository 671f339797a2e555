"""Once a day, after the configured UTC hour, enqueue each agent's summary of the previous UTC day — exactly once,
even across notifier restarts (the outbox itself remembers which summaries exist)."""
from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import datetime, timedelta

from shared.clock import Clock
from shared.notify import messages, outbox
from shared.notify.notifier import sleep_or_stop
from shared.notify.reports import daily_summary

log = logging.getLogger(__name__)


def summary_day_due(now: datetime, hour: int) -> datetime | None:
    """Start of the UTC day whose summary is due at `now` (yesterday, once `hour`:00 UTC has passed), or None."""
    if hour < 0 or now.hour < hour:
        return None
    return now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)


def enqueue_due_summaries(conn: sqlite3.Connection, agents: tuple[str, ...], now: datetime, hour: int) -> list[int]:
    day = summary_day_due(now, hour)
    if day is None:
        return []
    ids = []
    for agent in agents:
        summary = daily_summary(conn, agent, day)
        if summary.decisions == 0 and summary.open_positions == 0:
            continue  # the agent did not run that day and holds nothing: a summary of zeros is only noise
        alert = messages.daily_summary(summary)
        if alert.dedup_key and not outbox.has_alert(conn, alert.dedup_key):
            ids.append(outbox.enqueue(conn, alert, now=now))
    return ids


class DailySummaries:
    def __init__(self, conn: sqlite3.Connection, agents: tuple[str, ...], hour: int, clock: Clock,
                 check_every_s: float = 60.0) -> None:
        self._conn, self._agents, self._hour, self._clock, self._every = conn, agents, hour, clock, check_every_s

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set() and self._hour >= 0:
            try:
                enqueue_due_summaries(self._conn, self._agents, self._clock.now(), self._hour)
            except sqlite3.Error as exc:
                log.error("daily summary: %s", exc)
            await sleep_or_stop(stop, self._every)
