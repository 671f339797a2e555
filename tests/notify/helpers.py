"""Helpers for the notify tests: fast timing, channels pointed at the fakes, running a notifier in the background."""
from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable

from shared.notify.channels import Channel
from shared.notify.models import Backoff, ChannelRoute, Routing, Severity
from shared.notify.notifier import Notifier, NotifierTiming
from shared.notify.redact import Redactor
from tests.fakes.fake_discord import FakeDiscord
from tests.fakes.fake_telegram import FakeTelegram

FAST = NotifierTiming(poll_interval_s=0.02, backoff=Backoff(base_s=0.05, max_s=0.2))
CHAT_ID = "-1001234567890"


def telegram_channel(tg: FakeTelegram) -> Channel:
    from shared.notify.telegram_channel import TelegramChannel

    return TelegramChannel(tg.token, CHAT_ID, api_base=tg.api_base, timeout_s=2.0)


def discord_channel(dc: FakeDiscord) -> Channel:
    from shared.notify.discord_channel import DiscordChannel

    return DiscordChannel(dc.webhook_url, timeout_s=2.0)


def make_notifier(conn: sqlite3.Connection, channels: dict[str, Channel], *, mode: str = "sim",
                  min_severity: dict[str, Severity] | None = None, redact: Callable[[str], str] | None = None,
                  timing: NotifierTiming = FAST) -> Notifier:
    mins = min_severity or {}
    routing = Routing(tuple(ChannelRoute(name, mins.get(name, Severity.INFO)) for name in channels))
    return Notifier(conn, channels, routing, mode=mode, redact=redact or Redactor(), timing=timing)


@contextlib.asynccontextmanager
async def running(notifier: Notifier, extra: tuple = ()) -> AsyncIterator[asyncio.Event]:
    """Run the notifier's loops in the background for the body of the `async with`."""
    stop = asyncio.Event()
    task = asyncio.create_task(notifier.run(stop, extra))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await notifier.aclose()


async def until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


def rows(conn: sqlite3.Connection, sql: str, *args: object) -> list[dict]:
    return [dict(r) for r in conn.execute(sql, args).fetchall()]
