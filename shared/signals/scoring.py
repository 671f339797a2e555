"""Signal quality and conviction, 0..10, with every component recorded, and the threshold check.

Formulas with worked examples: docs/signals.md ("Signal quality", "Conviction").
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from shared.signals.config import ConvictionParams, QualityParams, RegimeAlignment, SignalsConfig
from shared.signals.indicators import Features
from shared.signals.market_state import MarketState
from shared.signals.regime import Regime, VolatilityLevel

Style = Literal["trend", "reversion"]  # trend setups ride a move; reversion setups fade a stretched one
NEUTRAL = 5.0


def _clip10(x: float) -> float:
    return 0.0 if x < 0.0 else 10.0 if x > 10.0 else x


def _direction(direction: int) -> int:
    if direction not in (1, -1):
        raise ValueError(f"direction must be 1 (long) or -1 (short), got {direction!r}")
    return direction


@dataclass(frozen=True, slots=True)
class QualityScore:
    score: float
    momentum: float
    volume: float
    rsi: float
    sentiment: float

    def details(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ConvictionScore:
    score: float
    quality: float
    regime: float
    volatility: float
    timeframes: float
    timeframes_agreeing: int
    timeframes_considered: int

    def details(self) -> dict[str, Any]:
        return asdict(self)


def momentum_score(direction: int, velocity_pct: float, atr_pct: float, p: QualityParams, style: Style = "trend") -> float:
    """5 + 5 * z / momentum_full_atr, clipped to 0..10, where z = the move over the velocity window in ATRs,
    signed +1 when it goes the trade's way (trend) or against it (reversion: the stretch to fade)."""
    if math.isnan(velocity_pct) or math.isnan(atr_pct) or atr_pct <= 0:
        return NEUTRAL
    sign = direction if style == "trend" else -direction
    z = sign * velocity_pct / atr_pct
    return _clip10(5.0 + 5.0 * z / p.momentum_full_atr)


def volume_score(volume_z: float, p: QualityParams) -> float:
    """5 + 5 * z / volume_z_full, clipped: unusual volume backs a move whichever way it goes."""
    if math.isnan(volume_z):
        return NEUTRAL
    return _clip10(5.0 + 5.0 * volume_z / p.volume_z_full)


def rsi_score(direction: int, rsi_value: float, p: QualityParams, style: Style = "trend") -> float:
    """10 at the ideal RSI, falling linearly to 0 at rsi_width away. RSI is mirrored (100 - RSI) for shorts."""
    if math.isnan(rsi_value):
        return NEUTRAL
    r = rsi_value if direction > 0 else 100.0 - rsi_value
    ideal = p.rsi_trend_ideal if style == "trend" else p.rsi_reversion_ideal
    return _clip10(10.0 * (1.0 - abs(r - ideal) / p.rsi_width))


def sentiment_score(direction: int, sentiment: float | None) -> float:
    """The sentiment score (0 bearish .. 10 bullish) for a long, 10 minus it for a short; None is neutral 5."""
    if sentiment is None or math.isnan(sentiment):
        return NEUTRAL
    s = _clip10(float(sentiment))
    return s if direction > 0 else 10.0 - s


def signal_quality(direction: int, velocity_pct: float, atr_pct: float, volume_z: float, rsi_value: float,
                   sentiment: float | None, p: QualityParams, style: Style = "trend") -> QualityScore:
    """Weighted mean of the four component scores (weights from the profile, normalised to sum 1)."""
    d = _direction(direction)
    m = momentum_score(d, velocity_pct, atr_pct, p, style)
    v = volume_score(volume_z, p)
    r = rsi_score(d, rsi_value, p, style)
    s = sentiment_score(d, sentiment)
    w = p.weights
    total = w.momentum + w.volume + w.rsi + w.sentiment
    score = (w.momentum * m + w.volume * v + w.rsi * r + w.sentiment * s) / total
    return QualityScore(score, m, v, r, s)


def quality_from_features(f: Features, direction: int, sentiment: float | None, p: QualityParams,
                          style: Style = "trend") -> QualityScore:
    """signal_quality on the last values of a feature set."""
    return signal_quality(direction, f.last("velocity"), f.last("atr_pct"), f.last("volume_z"), f.last("rsi"),
                          sentiment, p, style)


def _alignment_table(regime: Regime, direction: int, t: RegimeAlignment) -> float:
    if regime is Regime.BULL_TREND:
        return t.with_trend if direction > 0 else t.against_trend
    if regime is Regime.BEAR_TREND:
        return t.with_trend if direction < 0 else t.against_trend
    if regime is Regime.SIDEWAYS_LOW_VOL:
        return t.sideways_low_vol
    if regime is Regime.SIDEWAYS_HIGH_VOL:
        return t.sideways_high_vol
    return t.transition


def regime_alignment_score(regime: Regime, confidence: float, direction: int, p: ConvictionParams,
                           style: Style = "trend") -> float:
    """5 + (table - 5) * confidence: the per-style table value, pulled toward neutral when the regime is unsure."""
    table = p.alignment_trend if style == "trend" else p.alignment_reversion
    return _clip10(NEUTRAL + (_alignment_table(regime, direction, table) - NEUTRAL) * confidence)


def volatility_score(level: VolatilityLevel, p: ConvictionParams) -> float:
    v = p.volatility
    return {VolatilityLevel.LOW: v.low, VolatilityLevel.NORMAL: v.normal, VolatilityLevel.HIGH: v.high}[level]


def timeframe_score(direction: int, trends: Sequence[int]) -> tuple[float, int]:
    """(10 * (agreeing + 0.5 * flat) / considered, agreeing); neutral 5 when no higher timeframe is available."""
    if not trends:
        return NEUTRAL, 0
    agree = sum(1 for t in trends if t == direction)
    flat = sum(1 for t in trends if t == 0)
    return 10.0 * (agree + 0.5 * flat) / len(trends), agree


def conviction(quality: float, regime: Regime, regime_confidence: float, volatility: VolatilityLevel,
               trends: Sequence[int], direction: int, p: ConvictionParams, style: Style = "trend") -> ConvictionScore:
    """Weighted mean of quality, regime alignment, volatility suitability and timeframe agreement."""
    d = _direction(direction)
    a = regime_alignment_score(regime, regime_confidence, d, p, style)
    v = volatility_score(volatility, p)
    t, agree = timeframe_score(d, trends)
    w = p.weights
    total = w.quality + w.regime + w.volatility + w.timeframes
    score = (w.quality * quality + w.regime * a + w.volatility * v + w.timeframes * t) / total
    return ConvictionScore(score, quality, a, v, t, agree, len(trends))


def conviction_from_state(quality: QualityScore, state: MarketState, direction: int, p: ConvictionParams,
                          style: Style = "trend") -> ConvictionScore:
    return conviction(quality.score, state.regime, state.regime_confidence, state.volatility,
                      [t for _, t in state.timeframe_trends], direction, p, style)


@dataclass(frozen=True, slots=True)
class ThresholdCheck:
    passed: bool
    min_signal_quality: float
    min_conviction_score: float
    reason: str


def check_thresholds(quality: float, conviction_score: float, regime: Regime, cfg: SignalsConfig,
                     min_signal_quality: float = 5.0, min_conviction_score: float = 5.0) -> ThresholdCheck:
    """quality >= min quality and conviction >= min conviction. The minimums are the global settings
    (TB_MIN_SIGNAL_QUALITY, TB_MIN_CONVICTION_SCORE) unless cfg.regime_thresholds overrides them for `regime`."""
    o = cfg.regime_thresholds.get(regime)
    mq = o.min_signal_quality if o and o.min_signal_quality is not None else min_signal_quality
    mc = o.min_conviction_score if o and o.min_conviction_score is not None else min_conviction_score
    fails = []
    if not quality >= mq:  # NaN fails too
        fails.append(f"quality {quality:.2f} < {mq:g}")
    if not conviction_score >= mc:
        fails.append(f"conviction {conviction_score:.2f} < {mc:g}")
    where = f" in {regime.value}" if o else ""
    if fails:
        return ThresholdCheck(False, mq, mc, "; ".join(fails) + where)
    return ThresholdCheck(True, mq, mc, f"quality {quality:.2f} >= {mq:g}, conviction {conviction_score:.2f} >= {mc:g}{where}")
