"""The sender: routes new outbox rows to channel deliveries and sends each channel's queue strictly in order, one
message at a time, retrying on the schedule stored in the database. It knows channels only by the Channel protocol.
"""
from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.clock import Clock, WallClock
from shared.notify import outbox
from shared.notify.channels import Channel
from shared.notify.models import Backoff, OutgoingMessage, Routing, SendResult, Severity
from shared.notify.render import alert_text

log = logging.getLogger(__name__)
_LOG_LEVELS = {Severity.INFO: logging.INFO, Severity.WARNING: logging.WARNING, Severity.CRITICAL: logging.CRITICAL}


@dataclass(frozen=True)
class NotifierTiming:
    poll_interval_s: float = 1.0
    backoff: Backoff = field(default_factory=Backoff)


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    if seconds <= 0:
        await asyncio.sleep(0)
        return
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except asyncio.TimeoutError:
        pass


class Notifier:
    def __init__(self, conn: sqlite3.Connection, channels: Mapping[str, Channel], routing: Routing, *, mode: str,
                 redact: Callable[[str], str], clock: Clock | None = None, timing: NotifierTiming | None = None,
                 render: Callable[[outbox.Delivery, str, bool], str] | None = None) -> None:
        self._conn = conn
        self._channels = dict(channels)
        self._routing = routing
        self._mode = mode
        self._redact = redact
        self._clock = clock or WallClock()
        self._timing = timing or NotifierTiming()
        self._render = render or alert_text
        self._wake = {name: asyncio.Event() for name in self._channels}

    @property
    def channel_names(self) -> list[str]:
        return list(self._channels)

    def route(self) -> int:
        """Fan new outbox rows out to channel deliveries; log every alert (the log is a channel that never fails)."""
        routed = outbox.route_pending(self._conn, self._routing, self._clock.now())
        for r in routed:
            log.log(_LOG_LEVELS[r.severity], "alert #%d %s %s/%s: %s -> %s", r.outbox_id, r.severity.value, r.agent,
                    r.kind, self._redact(r.title), ", ".join(r.channels) or "no channel")
            for ch in r.channels:
                if ch in self._wake:
                    self._wake[ch].set()
        return len(routed)

    async def deliver_next(self, channel: str) -> float | None:
        """Send the head of `channel`'s queue if it is due. Returns None after an attempt (call again at once),
        otherwise how long to wait: until the head is due, at most the poll interval (also when the queue is empty)."""
        head = outbox.next_delivery(self._conn, channel)
        if head is None:
            return self._timing.poll_interval_s
        wait = (head.next_attempt_at - self._clock.now()).total_seconds()
        if wait > 0:
            return min(wait, self._timing.poll_interval_s)
        attempt = outbox.begin_attempt(self._conn, head, self._clock.now())
        text = self._redact(self._render(head, self._mode, attempt.possible_duplicate))
        message = OutgoingMessage(head.id, head.outbox_id, head.severity, self._redact(head.title), text)
        try:
            result = await self._channels[channel].send(message)
        except asyncio.CancelledError:
            raise  # the attempt stays 'sending'; the next start resends it marked as a possible duplicate
        except Exception as exc:  # a channel bug must not stop the queue; treat it as a transient failure
            log.exception("channel %s raised while sending alert #%d", channel, head.outbox_id)
            result = SendResult.again(f"{type(exc).__name__}: {exc}")
        if result.error:
            result = SendResult(result.status, result.remote_id, result.retry_after, self._redact(result.error),
                                result.rate_limited)
        next_at = outbox.finish_attempt(self._conn, attempt, result, self._timing.backoff, self._clock.now())
        if result.status == "sent":
            log.debug("alert #%d delivered to %s (attempt %d)", head.outbox_id, channel, attempt.number)
        elif result.status == "failed":
            log.error("alert #%d permanently failed on %s: %s", head.outbox_id, channel, result.error)
        else:
            log.warning("alert #%d not delivered to %s (attempt %d): %s; next try %s", head.outbox_id, channel,
                        attempt.number, result.error, next_at.isoformat() if next_at else "now")
        return None

    async def run_channel(self, channel: str, stop: asyncio.Event) -> None:
        wake = self._wake[channel]
        while not stop.is_set():
            try:
                wait = await self.deliver_next(channel)
            except sqlite3.OperationalError as exc:  # e.g. the database stayed locked past busy_timeout
                log.error("notifier database error on %s: %s", channel, exc)
                wait = self._timing.poll_interval_s
            if wait is None:
                continue
            wake.clear()
            waiter = asyncio.ensure_future(wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait({waiter, stopper}, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
                stopper.cancel()

    async def run_router(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                self.route()
            except sqlite3.OperationalError as exc:
                log.error("notifier database error while routing: %s", exc)
            await sleep_or_stop(stop, self._timing.poll_interval_s)

    async def run(self, stop: asyncio.Event,
                  extra: Sequence[Callable[[asyncio.Event], Coroutine[Any, Any, None]]] = ()) -> None:
        """Route and send until `stop` is set; `extra` are more loops (daily summary, command bot) sharing the stop."""
        tasks = [asyncio.create_task(self.run_router(stop), name="notify-router")]
        tasks += [asyncio.create_task(self.run_channel(ch, stop), name=f"notify-{ch}") for ch in self._channels]
        tasks += [asyncio.create_task(loop(stop)) for loop in extra]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def drain(self, timeout_s: float) -> bool:
        """Route, then deliver until every queue is empty or `timeout_s` passes; True when all were settled.
        For one-shot use (`--once`) and tests; the long-running process uses run()."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        self.route()
        pending = set(self._channels)
        while pending and asyncio.get_running_loop().time() < deadline:
            for ch in list(pending):
                wait = await self.deliver_next(ch)
                if wait is not None and outbox.next_delivery(self._conn, ch) is None:
                    pending.discard(ch)
            if pending:
                await asyncio.sleep(min(0.05, self._timing.poll_interval_s))
        return not pending

    async def aclose(self) -> None:
        for ch in self._channels.values():
            try:
                await ch.aclose()
            except Exception:
                log.exception("closing channel %s", ch.name)

