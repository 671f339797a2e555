"""Divergence between headline sentiment and recent price momentum.

Momentum is the return over the last `lookback` closed candles squashed to [-1, 1] with
tanh(return / return_scale): a return of one `return_scale` gives about 0.76. The divergence value is
(sentiment - momentum) / 2 in [-1, 1]: positive when the news is more bullish than the price action,
negative when it is more bearish. The flag is raised when the two point in opposite directions, each at
least `min_strength` strong, and |value| >= `threshold`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class DivergenceConfig:
    lookback: int = 12  # closed candles of the base timeframe
    return_scale: float = 0.02  # a 2 % move counts as strong momentum
    min_strength: float = 0.2
    threshold: float = 0.4

    def __post_init__(self) -> None:
        if self.lookback < 1 or self.return_scale <= 0:
            raise ValueError("divergence lookback must be >= 1 and return_scale > 0")


@dataclass(frozen=True)
class Divergence:
    sentiment: float  # [-1, 1]
    momentum: float  # [-1, 1]
    price_return: float  # the raw return over the lookback
    value: float  # (sentiment - momentum) / 2, in [-1, 1]
    flag: bool
    kind: str  # "bullish_news_falling_price", "bearish_news_rising_price" or "none"


def recent_return(closes: Sequence[float], lookback: int) -> float | None:
    """close[-1] / close[-1 - lookback] - 1, or None when there are too few closes or a bad price."""
    if len(closes) <= lookback:
        return None
    first, last = float(closes[-1 - lookback]), float(closes[-1])
    if not (first > 0 and math.isfinite(first) and math.isfinite(last)):
        return None
    return last / first - 1.0


def divergence(sentiment: float, price_return: float, config: DivergenceConfig = DivergenceConfig()) -> Divergence:
    if not -1.0 <= sentiment <= 1.0:
        raise ValueError(f"sentiment {sentiment} is outside [-1, 1]")
    momentum = math.tanh(price_return / config.return_scale)
    value = (sentiment - momentum) / 2.0
    opposed = sentiment * momentum < 0
    strong = abs(sentiment) >= config.min_strength and abs(momentum) >= config.min_strength
    flag = opposed and strong and abs(value) >= config.threshold
    kind = "none"
    if flag:
        kind = "bullish_news_falling_price" if sentiment > 0 else "bearish_news_rising_price"
    return Divergence(sentiment, momentum, price_return, value, flag, kind)
