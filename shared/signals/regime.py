"""Market regime: the raw per-candle classification and the per-symbol tracker that demands persistent evidence."""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # config imports Regime from here
    from shared.signals.config import RegimeParams


class Regime(str, Enum):
    BULL_TREND = "BULL_TREND"
    BEAR_TREND = "BEAR_TREND"
    SIDEWAYS_LOW_VOL = "SIDEWAYS_LOW_VOL"
    SIDEWAYS_HIGH_VOL = "SIDEWAYS_HIGH_VOL"
    TRANSITION = "TRANSITION"


class VolatilityLevel(str, Enum):
    LOW = "LOW"
    NORMAL = "NORMAL"
    HIGH = "HIGH"


class TrendStrength(str, Enum):
    WEAK = "WEAK"
    MODERATE = "MODERATE"
    STRONG = "STRONG"


def volatility_level(atr_percentile: float, p: RegimeParams) -> VolatilityLevel:
    """LOW below vol_low_pct, HIGH above vol_high_pct, NORMAL between (percentile of ATR% over vol_lookback)."""
    if atr_percentile < p.vol_low_pct:
        return VolatilityLevel.LOW
    if atr_percentile > p.vol_high_pct:
        return VolatilityLevel.HIGH
    return VolatilityLevel.NORMAL


def trend_strength(adx_value: float, p: RegimeParams) -> TrendStrength:
    """WEAK below adx_moderate, STRONG from adx_strong, MODERATE between."""
    if adx_value >= p.adx_strong:
        return TrendStrength.STRONG
    if adx_value >= p.adx_moderate:
        return TrendStrength.MODERATE
    return TrendStrength.WEAK


def _clip01(x: float) -> float:
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


@dataclass(frozen=True, slots=True)
class RawRegime:
    """What this candle's evidence alone says."""

    regime: Regime
    confidence: float  # 0..1
    reason: str


def classify_raw(close: float, ema_fast: float, ema_slow: float, macd_hist: float, adx_value: float,
                 atr_percentile: float, p: RegimeParams, confirmed: Regime | None = None) -> RawRegime:
    """One candle's regime evidence. `confirmed` (the tracker's current regime) adds hysteresis.

    Rules, in order (docs/signals.md, "Market state"):
      1. any input NaN                                    -> TRANSITION (warming up)
      2. confirmed trend, EMAs still aligned, ADX >= adx_trend_exit -> that trend continues
      3. ADX >= adx_trend: fast>slow EMA and close>slow EMA -> BULL; mirror -> BEAR; else TRANSITION (conflict)
      4. ADX < adx_trend: HIGH volatility -> SIDEWAYS_HIGH_VOL (a confirmed one holds until LOW), else LOW_VOL
    """
    if math.isnan(close + ema_fast + ema_slow + macd_hist + adx_value + atr_percentile):  # any NaN
        return RawRegime(Regime.TRANSITION, 0.0, "indicators warming up")
    up, down = ema_fast > ema_slow, ema_fast < ema_slow
    s_adx = _clip01((adx_value - p.adx_trend_exit) / (p.adx_strong - p.adx_trend_exit))

    if confirmed is Regime.BULL_TREND and up and adx_value >= p.adx_trend_exit:
        return RawRegime(Regime.BULL_TREND, 0.5 + 0.25 * s_adx + 0.25 * (macd_hist > 0),
                         f"bull trend holds: EMA fast>slow, ADX {adx_value:.1f}")
    if confirmed is Regime.BEAR_TREND and down and adx_value >= p.adx_trend_exit:
        return RawRegime(Regime.BEAR_TREND, 0.5 + 0.25 * s_adx + 0.25 * (macd_hist < 0),
                         f"bear trend holds: EMA fast<slow, ADX {adx_value:.1f}")
    if adx_value >= p.adx_trend:
        if up and close > ema_slow:
            return RawRegime(Regime.BULL_TREND, 0.5 + 0.25 * s_adx + 0.25 * (macd_hist > 0),
                             f"ADX {adx_value:.1f}, EMA fast>slow, close above slow EMA")
        if down and close < ema_slow:
            return RawRegime(Regime.BEAR_TREND, 0.5 + 0.25 * s_adx + 0.25 * (macd_hist < 0),
                             f"ADX {adx_value:.1f}, EMA fast<slow, close below slow EMA")
        return RawRegime(Regime.TRANSITION, 0.5, f"ADX {adx_value:.1f} says trend but EMAs and price disagree on its side")
    s_flat = _clip01((p.adx_trend - adx_value) / 10.0)
    high = atr_percentile > p.vol_high_pct or (
        confirmed is Regime.SIDEWAYS_HIGH_VOL and atr_percentile >= p.vol_low_pct)
    if high:
        s_vol = _clip01((atr_percentile - p.vol_high_pct) / (100.0 - p.vol_high_pct))
        return RawRegime(Regime.SIDEWAYS_HIGH_VOL, 0.5 + 0.25 * s_flat + 0.25 * s_vol,
                         f"ADX {adx_value:.1f} < {p.adx_trend:g}, ATR% percentile {atr_percentile:.0f}")
    s_vol = _clip01((p.vol_high_pct - atr_percentile) / p.vol_high_pct)
    return RawRegime(Regime.SIDEWAYS_LOW_VOL, 0.5 + 0.25 * s_flat + 0.25 * s_vol,
                     f"ADX {adx_value:.1f} < {p.adx_trend:g}, ATR% percentile {atr_percentile:.0f}")


@dataclass(frozen=True, slots=True)
class RegimeStatus:
    regime: Regime  # confirmed regime, or TRANSITION
    candidate: Regime | None  # the evidence being counted while in TRANSITION
    streak: int  # consecutive candles of that evidence
    age: int  # candles the confirmed regime has held (0 in TRANSITION)


class RegimeTracker:
    """Per-symbol regime memory; the caller owns one per symbol (no module state).

    Evidence that differs from the confirmed regime (or conflicting evidence) puts the symbol in TRANSITION.
    A regime is confirmed once the same raw evidence has been seen on more than `confirm_cycles` consecutive
    candles, so TRANSITION is reported for at least `confirm_cycles` candles — even when the evidence
    returns to the old regime. Evidence counts once per closed candle: calling `update` again for the same
    candle (a fast cycle in paper/live) returns the same status without counting it twice.
    """

    def __init__(self, confirm_cycles: int) -> None:
        if confirm_cycles < 1:
            raise ValueError(f"confirm_cycles must be >= 1 (got {confirm_cycles})")
        self.confirm_cycles = confirm_cycles
        self.confirmed: Regime | None = None
        self._candidate: Regime | None = None
        self._streak = 0
        self._age = 0
        self._last_bar: int | None = None
        self._last: RegimeStatus = RegimeStatus(Regime.TRANSITION, None, 0, 0)

    def update(self, raw: Regime, bar_time: int | None = None) -> RegimeStatus:
        """Feed one candle's raw regime (`bar_time`: that candle's open time; None counts every call)."""
        if bar_time is not None and bar_time == self._last_bar:
            return self._last
        self._last_bar = bar_time
        if self.confirmed is not None and raw == self.confirmed:
            self._age += 1
            self._last = RegimeStatus(raw, None, 0, self._age)
            return self._last
        self.confirmed, self._age = None, 0
        if raw == self._candidate:
            self._streak += 1
        else:
            self._candidate, self._streak = raw, 1
        if raw is not Regime.TRANSITION and self._streak > self.confirm_cycles:
            self.confirmed, self._age = raw, 1
            self._candidate, self._streak = None, 0
            self._last = RegimeStatus(raw, None, 0, 1)
        else:
            self._last = RegimeStatus(Regime.TRANSITION, self._candidate, self._streak, 0)
        return self._last
