"""Technical indicators on numpy float64 arrays: TA-Lib where it has them, a few lines of numpy where it does not.

Every function returns an array aligned with its input (NaN where the indicator is not yet defined),
except `trade_vwap`, which returns one number. Periods are in candles.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import talib

from shared.market.candles import Candles
from shared.signals.config import IndicatorParams

_DAY = 86_400


def _raw(fn: Callable[..., Any]) -> Callable[..., Any]:
    # talib.X wraps the C function to accept pandas/polars Series (~1.5 us per call); our inputs are numpy.
    return getattr(fn, "__wrapped__", fn)


_EMA, _SMA, _RSI, _MACD, _BBANDS = _raw(talib.EMA), _raw(talib.SMA), _raw(talib.RSI), _raw(talib.MACD), _raw(talib.BBANDS)
_ATR, _ADX, _STDDEV, _ROC = _raw(talib.ATR), _raw(talib.ADX), _raw(talib.STDDEV), _raw(talib.ROC)


def _f64(x: np.ndarray) -> np.ndarray:
    # TA-Lib accepts only contiguous float64; this is a no-op for the columns Candles already holds.
    return np.ascontiguousarray(x, dtype=np.float64)


def ema(x: np.ndarray, n: int) -> np.ndarray:
    """Exponential moving average, alpha = 2/(n+1), seeded with the SMA of the first n values."""
    return _EMA(_f64(x), n)


def sma(x: np.ndarray, n: int) -> np.ndarray:
    return _SMA(_f64(x), n)


def rsi(x: np.ndarray, n: int = 14) -> np.ndarray:
    """Wilder's RSI, 0..100."""
    return _RSI(_f64(x), n)


def macd(x: np.ndarray, fast: int = 12, slow: int = 26, signal: int = 9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(macd line, signal line, histogram)."""
    return _MACD(_f64(x), fast, slow, signal)


def bbands(x: np.ndarray, n: int = 20, k: float = 2.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(upper, middle, lower): SMA(n) ± k population standard deviations."""
    return _BBANDS(_f64(x), n, k, k, 0)


def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int = 14) -> np.ndarray:
    """Wilder's average true range, in price units."""
    return _ATR(_f64(high), _f64(low), _f64(close), n)


def adx(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int = 14) -> np.ndarray:
    """Wilder's average directional index, 0..100 (trend strength, not direction)."""
    return _ADX(_f64(high), _f64(low), _f64(close), n)


def volume_zscore(volume: np.ndarray, n: int = 20) -> np.ndarray:
    """(v - mean of the last n volumes) / their population std; 0 where the window is flat."""
    v = _f64(volume)
    std = _STDDEV(v, n, 1.0)
    # A flat window (std 0) says "nothing unusual", not "infinitely unusual"; warm-up stays NaN.
    z = np.where(std == std, 0.0, np.nan)
    np.divide(v - _SMA(v, n), std, out=z, where=std > 0)
    return z


def velocity(x: np.ndarray, n: int) -> np.ndarray:
    """Rate of change over n candles, in %: 100 * (x[t] / x[t-n] - 1)."""
    return _ROC(_f64(x), n)


def acceleration(x: np.ndarray, n: int) -> np.ndarray:
    """Change of velocity(x, n) over one candle, in percentage points."""
    v = velocity(x, n)
    out = np.empty_like(v)
    out[0] = np.nan
    np.subtract(v[1:], v[:-1], out=out[1:])
    return out


def session_vwap(candles: Candles) -> np.ndarray:
    """VWAP of the UTC day so far at each candle: cumsum(typical * volume) / cumsum(volume), reset at 00:00 UTC.

    Typical price = (high + low + close) / 3. NaN until the day has traded any volume.
    """
    if len(candles) == 0:
        return np.empty(0)
    tpv = (candles.high + candles.low + candles.close) / 3.0 * candles.volume
    cum_pv = np.cumsum(tpv)
    cum_v = np.cumsum(candles.volume)
    day = candles.open_time // _DAY
    starts = np.flatnonzero(np.r_[True, day[1:] != day[:-1]])
    # Subtract the running totals as they stood just before each day began.
    run = np.repeat(starts, np.diff(np.r_[starts, len(candles)]))
    base_pv = np.where(run > 0, cum_pv[run - 1], 0.0)
    base_v = np.where(run > 0, cum_v[run - 1], 0.0)
    vol = cum_v - base_v
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(vol > 0, (cum_pv - base_pv) / vol, np.nan)


def trade_vwap(prices: np.ndarray, sizes: np.ndarray) -> float:
    """True VWAP of a trade stream: sum(price * size) / sum(size); NaN when nothing traded."""
    p, s = _f64(prices), _f64(sizes)
    if p.shape != s.shape:
        raise ValueError(f"prices and sizes must have the same length (got {p.shape[0]} and {s.shape[0]})")
    total = float(s.sum())
    return float(np.dot(p, s) / total) if total > 0 else float("nan")


def percentile_rank(x: np.ndarray, lookback: int) -> float:
    """Percentile (0..100) of the last value among the last `lookback` non-NaN values; ties count half.

    NaN when fewer than 2 values are defined.
    """
    w = x[-lookback:]
    last = x[-1] if x.shape[0] else np.nan
    valid = w.shape[0] - np.count_nonzero(np.isnan(w))
    if valid < 2 or last != last:
        return float("nan")
    # Comparisons with NaN are False, so the warm-up NaNs drop out of both counts.
    return float(100.0 * (np.count_nonzero(w < last) + 0.5 * np.count_nonzero(w == last)) / valid)


@dataclass(frozen=True)
class Features:
    """Every indicator of one series, computed once per cycle; state and scores read the last values.

    Bollinger bands and VWAP are computed on first use (most cycles of most symbols never need them).
    """

    candles: Candles
    params: IndicatorParams
    ema_fast: np.ndarray
    ema_slow: np.ndarray
    rsi: np.ndarray
    macd: np.ndarray
    macd_signal: np.ndarray
    macd_hist: np.ndarray
    atr: np.ndarray
    adx: np.ndarray
    volume_z: np.ndarray
    velocity: np.ndarray
    acceleration: np.ndarray

    @property
    def symbol(self) -> str:
        return self.candles.symbol

    @property
    def timeframe(self) -> str:
        return self.candles.timeframe

    @property
    def close(self) -> np.ndarray:
        return self.candles.close

    @cached_property
    def atr_pct(self) -> np.ndarray:
        """ATR as % of close: comparable across price levels and symbols."""
        return self.atr / self.candles.close * 100.0

    @cached_property
    def bbands(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return bbands(self.candles.close, self.params.bb_period, self.params.bb_k)

    @cached_property
    def vwap(self) -> np.ndarray:
        return session_vwap(self.candles)

    def last(self, name: str) -> float:
        """Last value of an indicator array by attribute name (NaN on an empty series)."""
        a = getattr(self, name)
        return float(a[-1]) if a.shape[0] else float("nan")


def compute_features(candles: Candles, params: IndicatorParams | None = None) -> Features:
    """The indicator set of one series, one TA-Lib call per indicator."""
    p = params or _DEFAULT_PARAMS
    h, lo, c, v = _f64(candles.high), _f64(candles.low), _f64(candles.close), _f64(candles.volume)
    m, ms, mh = _MACD(c, p.macd_fast, p.macd_slow, p.macd_signal)
    vel = _ROC(c, p.velocity_period)
    acc = np.empty_like(vel)
    if acc.shape[0]:
        acc[0] = np.nan
        np.subtract(vel[1:], vel[:-1], out=acc[1:])
    return Features(
        candles, p, _EMA(c, p.ema_fast), _EMA(c, p.ema_slow), _RSI(c, p.rsi_period),
        m, ms, mh, _ATR(h, lo, c, p.atr_period), _ADX(h, lo, c, p.adx_period),
        volume_zscore(v, p.volume_period), vel, acc,
    )


def compute_features_many(series: Mapping[str, Candles], params: IndicatorParams | None = None) -> dict[str, Features]:
    """compute_features for many symbols (TA-Lib is 1-D, so this is a loop without per-indicator overhead)."""
    return {sym: compute_features(c, params) for sym, c in series.items()}


def trend_direction(candles: Candles, params: IndicatorParams | None = None) -> int:
    """+1 when fast EMA > slow EMA and close > slow EMA, -1 for the mirror, 0 otherwise or too short.

    The cheap per-timeframe view used for multi-timeframe confirmation: two EMA calls, no full feature set.
    """
    p = params or _DEFAULT_PARAMS
    c = _f64(candles.close)
    if c.shape[0] < p.ema_slow:
        return 0
    fast, slow, close = float(_EMA(c, p.ema_fast)[-1]), float(_EMA(c, p.ema_slow)[-1]), float(c[-1])
    if fast > slow and close > slow:
        return 1
    if fast < slow and close < slow:
        return -1
    return 0


_DEFAULT_PARAMS = IndicatorParams()
