"""The Channel protocol every delivery target implements, and the console channel (log + stdout) used when no
service is configured, so sim mode shows its alerts. Service details stay inside each channel class."""
from __future__ import annotations

import sys
from typing import Protocol, TextIO, runtime_checkable

from shared.notify.models import OutgoingMessage, SendResult


@runtime_checkable
class Channel(Protocol):
    """Send one rendered message; never raise for a delivery problem, return SendResult instead."""

    name: str

    async def send(self, message: OutgoingMessage) -> SendResult: ...

    async def aclose(self) -> None: ...


class ConsoleChannel:
    """Prints every alert to a stream (stdout by default); it cannot fail. (The notifier logs every alert too.)"""

    def __init__(self, name: str = "console", stream: TextIO | None = None) -> None:
        self.name = name
        self._stream = stream

    async def send(self, message: OutgoingMessage) -> SendResult:
        stream = self._stream or sys.stdout
        stream.write(f"──── alert #{message.outbox_id} ────\n{message.text}\n")
        stream.flush()
        return SendResult.ok(None)

    async def aclose(self) -> None:
        return None
