"""What every strategy plugin shares: the Signal it returns, its params base, the per-cycle feature cache."""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Generic, Mapping, TypeVar

import numpy as np

from shared.config.strict import StrictModel
from shared.market.candles import Candles
from shared.signals import indicators as ind
from shared.signals.base import Action, SymbolContext

SIGNAL_ACTIONS = frozenset({Action.BUY, Action.SELL, Action.CLOSE, Action.PARTIAL_CLOSE})
DEFAULT_MAX_BARS = 1000  # enough warm-up for any period we allow; keeps TA-Lib calls O(1000) however long the history
_DAY = 86_400


@dataclass(frozen=True)
class Signal:
    """One strategy's opinion on one symbol: an action, how sure, why, and every number it used."""

    action: Action
    source: str  # strategy name
    confidence: float  # 0..1
    reason: str
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.action not in SIGNAL_ACTIONS:
            raise ValueError(f"signal action {self.action!r} is not valid; allowed: BUY, SELL, CLOSE, PARTIAL_CLOSE "
                             "(WAIT is the absence of signals)")
        if not (math.isfinite(self.confidence) and 0.0 <= self.confidence <= 1.0):
            raise ValueError(f"signal confidence {self.confidence!r} from {self.source} is not within 0..1")


class StrategyParams(StrictModel):
    """Base for each strategy's profile params: a typo in YAML is an error, not a silent default."""


class Features:
    """Indicators for one symbol in one cycle, each computed once and shared by every strategy.

    The caller creates one per symbol per cycle and drops it afterwards: the memo is never shared across
    cycles, so nothing stale can leak into a decision.
    """

    __slots__ = ("full", "candles", "_memo")

    def __init__(self, candles: Candles, max_bars: int = DEFAULT_MAX_BARS) -> None:
        self.full = candles
        n = len(candles)
        self.candles = candles.slice(n - max_bars, n) if n > max_bars else candles
        self._memo: dict[tuple[Any, ...], Any] = {}

    def __len__(self) -> int:
        return len(self.candles)

    @property
    def close(self) -> np.ndarray:
        return self.candles.close

    @property
    def high(self) -> np.ndarray:
        return self.candles.high

    @property
    def low(self) -> np.ndarray:
        return self.candles.low

    @property
    def volume(self) -> np.ndarray:
        return self.candles.volume

    def _get(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def rsi(self, n: int) -> np.ndarray:
        return self._get(("rsi", n), lambda: ind.rsi(self.close, n))

    def bbands(self, n: int, k: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._get(("bbands", n, k), lambda: ind.bbands(self.close, n, k))

    def atr(self, n: int) -> np.ndarray:
        return self._get(("atr", n), lambda: ind.atr(self.high, self.low, self.close, n))

    def velocity(self, n: int) -> np.ndarray:
        return self._get(("velocity", n), lambda: ind.velocity(self.close, n))

    def acceleration(self, n: int) -> np.ndarray:
        return self._get(("acceleration", n), lambda: ind.acceleration(self.close, n))

    def volume_z(self, n: int) -> np.ndarray:
        return self._get(("volume_z", n), lambda: ind.volume_zscore(self.volume, n))

    def session(self) -> tuple[float, int]:
        """(VWAP of the current UTC day at the last candle, candles in that day so far); VWAP is NaN if none."""
        return self._get(("session",), self._session)

    def _session(self) -> tuple[float, int]:
        c = self.full
        if len(c) == 0:
            return float("nan"), 0
        day_start = int(c.open_time[-1]) // _DAY * _DAY
        # Only today's candles: right however many bars the cache keeps, and it costs a day, not the history.
        first = int(np.searchsorted(c.open_time, day_start, side="left"))
        today = c.slice(first, len(c))
        return float(ind.session_vwap(today)[-1]), len(today)


def position_side(ctx: SymbolContext) -> int:
    """+1 long, -1 short, 0 flat."""
    pos = ctx.position
    if pos is None or pos.qty == 0:
        return 0
    return 1 if pos.qty > 0 else -1


EXIT_CONFIDENCE = 0.8  # reaching the reference level is the planned target of a reversion trade, not a guess


def exit_at_level(ctx: SymbolContext, source: str, close: float, level: float, label: str,
                  metadata: Mapping[str, Any]) -> list[Signal] | None:
    """A reversion trade is done when price is back at its reference level (the mean, the VWAP): CLOSE the
    position then; None when flat or not there yet."""
    side = position_side(ctx)
    if (side > 0 and close >= level) or (side < 0 and close <= level):
        held = "long" if side > 0 else "short"
        return [Signal(Action.CLOSE, source, EXIT_CONFIDENCE,
                       f"{source}: close {close:.6g} back at {label} {level:.6g} -> close the {held}", dict(metadata))]
    return None


def directional(ctx: SymbolContext, direction: int, source: str, confidence: float, reason: str,
                metadata: Mapping[str, Any]) -> Signal | None:
    """Turn a view ("price goes up" = +1, "down" = -1) into what this account can act on.

    Up: CLOSE a short, else BUY. Down: CLOSE a long, else SELL if shorts are possible, else nothing,
    so a long-only account never receives a SELL-to-open from a strategy.
    """
    side = position_side(ctx)
    conf = float(min(1.0, max(0.0, confidence)))
    md = dict(metadata)
    if direction > 0:
        if side < 0:
            return Signal(Action.CLOSE, source, conf, f"{reason}; against the short -> close", md)
        return Signal(Action.BUY, source, conf, reason, md)
    if side > 0:
        return Signal(Action.CLOSE, source, conf, f"{reason}; against the long -> close", md)
    if not ctx.allow_short:
        return None
    return Signal(Action.SELL, source, conf, reason, md)


def r(x: float, digits: int = 6) -> float:
    """A float for metadata: rounded, NaN kept as NaN (json-able through the audit writer)."""
    return round(float(x), digits)


P = TypeVar("P", bound=StrategyParams)


class Strategy(ABC, Generic[P]):
    """A strategy plugin: stateless between calls (anything persistent is derived from the candles), so one
    instance serves every symbol and a restart changes nothing."""

    name: ClassVar[str]
    Params: ClassVar[type[StrategyParams]]

    def __init__(self, params: P | None = None) -> None:
        self.params: P = params if params is not None else self.Params()  # type: ignore[assignment]

    @abstractmethod
    def min_bars(self) -> int:
        """Closed candles needed before the strategy can say anything."""

    @abstractmethod
    def _signals(self, ctx: SymbolContext, f: Features) -> list[Signal]: ...

    def evaluate(self, ctx: SymbolContext, features: Features | None = None) -> list[Signal]:
        """Signals for ctx's symbol (usually zero or one). Pass the cycle's Features to share indicators."""
        f = features if features is not None else Features(ctx.base)
        if len(f) < self.min_bars():
            return []
        return self._signals(ctx, f)
