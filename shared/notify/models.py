"""The typed values that cross the notify package's boundaries: severities, alerts, outgoing messages, send results."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal


class Severity(str, Enum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def emoji(self) -> str:
        return _EMOJI[self]

    @classmethod
    def parse(cls, value: "Severity | str") -> "Severity":
        try:
            return cls(str(value.value if isinstance(value, Severity) else value).lower())
        except ValueError:
            raise ValueError(f"severity {value!r} is not one of info, warning, critical") from None


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}
_EMOJI = {Severity.INFO: "ℹ️", Severity.WARNING: "⚠️", Severity.CRITICAL: "🚨"}


@dataclass(frozen=True)
class Alert:
    """One thing a person should hear about. `dedup_key` folds repeats; None means "the same text is the same alert"."""

    severity: Severity
    kind: str
    title: str
    body: str
    agent: str = "fleet"
    dedup_key: str | None = None
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class OutgoingMessage:
    """A rendered, redacted message for one channel delivery. `text` is final; channels may only shorten it."""

    delivery_id: int
    outbox_id: int
    severity: Severity
    title: str
    text: str


SendStatus = Literal["sent", "retry", "failed"]


@dataclass(frozen=True)
class SendResult:
    """What a channel reports for one send.

    sent: the service confirmed it (remote_id is its message id when it gives one).
    retry: not delivered, try again later (after `retry_after` seconds when the service said so).
    failed: this message can never be delivered (e.g. the service rejects its content); move on.
    """

    status: SendStatus
    remote_id: str | None = None
    retry_after: float | None = None
    error: str | None = None
    rate_limited: bool = False

    @classmethod
    def ok(cls, remote_id: str | None = None) -> "SendResult":
        return cls("sent", remote_id=remote_id)

    @classmethod
    def again(cls, error: str, retry_after: float | None = None, rate_limited: bool = False) -> "SendResult":
        return cls("retry", retry_after=retry_after, error=error, rate_limited=rate_limited)

    @classmethod
    def give_up(cls, error: str) -> "SendResult":
        return cls("failed", error=error)


@dataclass(frozen=True)
class Backoff:
    """Exponential retry schedule: base * 2**(attempt-1), capped. Stored as next_attempt_ts, so it survives restarts."""

    base_s: float = 2.0
    max_s: float = 300.0
    factor: float = 2.0

    def delay(self, attempt: int) -> float:
        return min(self.max_s, self.base_s * self.factor ** max(0, attempt - 1))


@dataclass(frozen=True)
class ChannelRoute:
    """Which severities a channel receives: everything at or above `min_severity`; critical always."""

    channel: str
    min_severity: Severity = Severity.INFO

    def accepts(self, severity: Severity) -> bool:
        return severity is Severity.CRITICAL or severity.rank >= self.min_severity.rank


@dataclass(frozen=True)
class Routing:
    routes: tuple[ChannelRoute, ...] = field(default_factory=tuple)

    def channels_for(self, severity: Severity) -> list[str]:
        return [r.channel for r in self.routes if r.accepts(severity)]
