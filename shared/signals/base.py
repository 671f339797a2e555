"""The contract between the agent cycle and the signal library."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Protocol

from shared.execution.models import PositionReport
from shared.market.candles import Candles


class Action(str, Enum):
    BUY = "BUY"  # open or add long
    SELL = "SELL"  # open or add short (futures only)
    CLOSE = "CLOSE"  # close the open position
    PARTIAL_CLOSE = "PARTIAL_CLOSE"
    WAIT = "WAIT"


@dataclass(frozen=True)
class SymbolContext:
    """Everything the signal library may look at for one symbol in one cycle. Venue-neutral."""

    symbol: str
    now: datetime  # market time (the sim clock in sim mode)
    candles: dict[str, Candles]  # timeframe -> closed candles; the base timeframe is always present
    base_timeframe: str
    position: PositionReport | None
    allow_short: bool
    equity: float = 0.0
    drawdown_pct: float = 0.0
    funding_rate: float | None = None  # futures: latest funding rate, None on spot
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def base(self) -> Candles:
        return self.candles[self.base_timeframe]


@dataclass(frozen=True)
class Evaluation:
    """The signal library's answer: an action with its confidence, one readable reason, and every number used."""

    action: Action
    confidence: float  # 0..1
    reason: str
    details: dict[str, Any] = field(default_factory=dict)
    strategy: str = ""


class SignalEngine(Protocol):
    # higher timeframes the engine wants besides the base one; the cycle serves them closed-only
    timeframes: tuple[str, ...]

    def evaluate(self, ctx: SymbolContext) -> Evaluation: ...
