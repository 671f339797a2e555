"""Indicators pinned against plain-Python reference implementations written here (no TA-Lib in the references)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from shared.market.candles import Candles
from shared.market.datafiles import load_candles
from shared.signals import indicators as ind
from shared.signals.config import IndicatorParams

DATA = Path(__file__).resolve().parents[2] / "data"
NAN = float("nan")


@pytest.fixture(scope="module")
def bars() -> Candles:
    """300 real hourly ETH perpetual candles (they span several UTC midnights)."""
    c = load_candles(DATA / "futures_1h" / "ETH_USDT_USDT-1h-futures.csv.gz", "ETH/USDT:USDT", "1h")
    return c.slice(20_000, 20_300)


# --- reference implementations: loops over Python floats, straight from the textbook definitions ---

def ref_sma(x, n):
    return [NAN] * (n - 1) + [sum(x[i - n + 1:i + 1]) / n for i in range(n - 1, len(x))]


def ref_ema(x, n, seed_at=None):
    """EMA with alpha 2/(n+1), seeded at index `seed_at` (default n-1) with the mean of the n values ending there."""
    s = n - 1 if seed_at is None else seed_at
    out = [NAN] * len(x)
    prev = sum(x[s - n + 1:s + 1]) / n
    out[s] = prev
    a = 2.0 / (n + 1)
    for i in range(s + 1, len(x)):
        prev = prev + a * (x[i] - prev)
        out[i] = prev
    return out


def ref_rsi(x, n):
    """Wilder: first averages are plain means of the first n changes, then avg = (avg*(n-1) + new)/n."""
    out = [NAN] * len(x)
    d = [x[i] - x[i - 1] for i in range(1, len(x))]
    g = sum(max(v, 0.0) for v in d[:n]) / n
    lo = sum(max(-v, 0.0) for v in d[:n]) / n
    out[n] = 100.0 * g / (g + lo)
    for i in range(n, len(d)):
        g = (g * (n - 1) + max(d[i], 0.0)) / n
        lo = (lo * (n - 1) + max(-d[i], 0.0)) / n
        out[i + 1] = 100.0 * g / (g + lo)
    return out


def ref_macd(x, fast, slow, signal):
    """Fast and slow EMAs both start where the slow one does (the fast one seeded on the `fast` values ending
    there, as TA-Lib does); the signal line is an EMA of the MACD line; everything is reported from the first
    candle where the signal exists."""
    start = slow - 1
    f = ref_ema(x, fast, seed_at=start)
    s = ref_ema(x, slow)
    line = [NAN] * start + [f[i] - s[i] for i in range(start, len(x))]
    sig = [NAN] * start + ref_ema(line[start:], signal)
    first = start + signal - 1
    line = [NAN] * first + line[first:]
    hist = [a - b for a, b in zip(line, sig)]
    return line, sig, hist


def ref_bbands(x, n, k):
    up, mid, lo = [NAN] * len(x), [NAN] * len(x), [NAN] * len(x)
    for i in range(n - 1, len(x)):
        w = x[i - n + 1:i + 1]
        m = sum(w) / n
        sd = math.sqrt(sum((v - m) ** 2 for v in w) / n)
        up[i], mid[i], lo[i] = m + k * sd, m, m - k * sd
    return up, mid, lo


def ref_true_range(h, lo, c, i):
    return max(h[i] - lo[i], abs(h[i] - c[i - 1]), abs(lo[i] - c[i - 1]))


def ref_atr(h, lo, c, n):
    """Wilder ATR: first value at index n = mean of TR[1..n], then atr = (atr*(n-1) + TR)/n."""
    out = [NAN] * len(c)
    a = sum(ref_true_range(h, lo, c, i) for i in range(1, n + 1)) / n
    out[n] = a
    for i in range(n + 1, len(c)):
        a = (a * (n - 1) + ref_true_range(h, lo, c, i)) / n
        out[i] = a
    return out


def ref_adx(h, lo, c, n):
    """Wilder ADX: +DM/-DM and TR summed over n-1 candles, then Wilder-smoothed (s = s - s/n + new);
    DX = 100 |+DI - -DI| / (+DI + -DI); ADX = mean of the first n DX, then Wilder-smoothed. First value at 2n-1."""
    def dm(i):
        up, down = h[i] - h[i - 1], lo[i - 1] - lo[i]
        return (up if up > 0 and up > down else 0.0), (down if down > 0 and down > up else 0.0)

    sp = sm = st = 0.0
    for i in range(1, n):
        p, m = dm(i)
        sp, sm, st = sp + p, sm + m, st + ref_true_range(h, lo, c, i)
    out = [NAN] * len(c)
    dxs = []
    adx_v = NAN
    for i in range(n, len(c)):
        p, m = dm(i)
        sp, sm, st = sp - sp / n + p, sm - sm / n + m, st - st / n + ref_true_range(h, lo, c, i)
        pdi, mdi = 100 * sp / st, 100 * sm / st
        dx = 100 * abs(pdi - mdi) / (pdi + mdi) if pdi + mdi else 0.0
        if len(dxs) < n:
            dxs.append(dx)
            if len(dxs) == n:
                adx_v = sum(dxs) / n
                out[i] = adx_v
        else:
            adx_v = (adx_v * (n - 1) + dx) / n
            out[i] = adx_v
    return out


def assert_series(actual, expected, rel=1e-9):
    a, e = np.asarray(actual, float), np.asarray(expected, float)
    assert a.shape == e.shape
    assert np.array_equal(np.isnan(a), np.isnan(e)), "NaN warm-up differs"
    ok = ~np.isnan(e)
    assert ok.sum() > 0
    np.testing.assert_allclose(a[ok], e[ok], rtol=rel, atol=1e-9)


# --- the tests ---

def test_sma_and_ema(bars):
    x = bars.close.tolist()
    assert_series(ind.sma(bars.close, 20), ref_sma(x, 20))
    assert_series(ind.ema(bars.close, 9), ref_ema(x, 9))
    assert_series(ind.ema(bars.close, 21), ref_ema(x, 21))


def test_ema_tiny_example():
    # n=3, alpha=0.5: seed mean(1,2,3)=2; then 2+0.5*(4-2)=3; 3+0.5*(8-3)=5.5
    assert_series(ind.ema(np.array([1.0, 2, 3, 4, 8]), 3), [NAN, NAN, 2.0, 3.0, 5.5])


def test_rsi(bars):
    assert_series(ind.rsi(bars.close, 14), ref_rsi(bars.close.tolist(), 14))
    assert_series(ind.rsi(bars.close, 7), ref_rsi(bars.close.tolist(), 7))


def test_rsi_tiny_example():
    # changes +1, +1, -1: avg gain 2/3, avg loss 1/3 -> RSI = 100 * (2/3) / 1 = 66.67
    assert ind.rsi(np.array([10.0, 11, 12, 11]), 3)[-1] == pytest.approx(200 / 3)


def test_macd(bars):
    got = ind.macd(bars.close, 12, 26, 9)
    want = ref_macd(bars.close.tolist(), 12, 26, 9)
    for g, w in zip(got, want):
        assert_series(g, w)


def test_bbands(bars):
    for g, w in zip(ind.bbands(bars.close, 20, 2.0), ref_bbands(bars.close.tolist(), 20, 2.0)):
        assert_series(g, w)


def test_atr(bars):
    assert_series(ind.atr(bars.high, bars.low, bars.close, 14),
                  ref_atr(bars.high.tolist(), bars.low.tolist(), bars.close.tolist(), 14))


def test_adx(bars):
    assert_series(ind.adx(bars.high, bars.low, bars.close, 14),
                  ref_adx(bars.high.tolist(), bars.low.tolist(), bars.close.tolist(), 14))


def test_volume_zscore(bars):
    v = bars.volume.tolist()
    want = [NAN] * 19
    for i in range(19, len(v)):
        w = v[i - 19:i + 1]
        m = sum(w) / 20
        sd = math.sqrt(sum((a - m) ** 2 for a in w) / 20)
        want.append((v[i] - m) / sd)
    assert_series(ind.volume_zscore(bars.volume, 20), want, rel=1e-7)


def test_volume_zscore_tiny_and_flat():
    # window (1, 2, 3): mean 2, population std sqrt(2/3) -> z of 3 = 1/sqrt(2/3) = 1.2247
    assert ind.volume_zscore(np.array([1.0, 2, 3]), 3)[-1] == pytest.approx(1 / math.sqrt(2 / 3))
    assert ind.volume_zscore(np.array([5.0, 5, 5, 5]), 3)[-1] == 0.0  # flat window: nothing unusual


def test_velocity_and_acceleration(bars):
    x = bars.close.tolist()
    vel = [NAN] * 10 + [100.0 * (x[i] / x[i - 10] - 1.0) for i in range(10, len(x))]
    acc = [NAN] * 11 + [vel[i] - vel[i - 1] for i in range(11, len(x))]
    assert_series(ind.velocity(bars.close, 10), vel)
    assert_series(ind.acceleration(bars.close, 10), acc)
    # 100 -> 110 -> 132 with n=1: velocity 10%, then 20%; acceleration +10 points
    assert_series(ind.acceleration(np.array([100.0, 110, 132]), 1), [NAN, NAN, 10.0])


def _candles(open_time, high, low, close, volume) -> Candles:
    arr = lambda v: np.asarray(v, dtype=np.float64)  # noqa: E731
    return Candles("T", "1h", np.asarray(open_time, np.int64), arr(close), arr(high), arr(low), arr(close), arr(volume))


def test_session_vwap_resets_at_utc_midnight():
    day = 86_400
    t = [day - 7200, day - 3600, day, day + 3600]  # 22:00, 23:00, 00:00, 01:00
    c = _candles(t, high=[12, 15, 21, 30], low=[6, 9, 18, 24], close=[9, 12, 21, 30], volume=[1, 3, 2, 0])
    # typical prices: 9, 12, 20, 28
    # day 1: 9*1/1 = 9; (9 + 12*3)/4 = 11.25.  day 2 restarts: 20*2/2 = 20; (40 + 28*0)/2 = 20
    assert_series(ind.session_vwap(c), [9.0, 11.25, 20.0, 20.0])


def test_session_vwap_real_matches_loop(bars):
    tp = (bars.high + bars.low + bars.close) / 3
    want, pv, vv, day = [], 0.0, 0.0, None
    for i in range(len(bars)):
        d = int(bars.open_time[i]) // 86_400
        if d != day:
            pv, vv, day = 0.0, 0.0, d
        pv += tp[i] * bars.volume[i]
        vv += bars.volume[i]
        want.append(pv / vv if vv else NAN)
    assert_series(ind.session_vwap(bars), want)


def test_session_vwap_no_volume_is_nan():
    c = _candles([0, 3600], high=[2, 2], low=[1, 1], close=[1.5, 1.5], volume=[0, 0])
    assert np.isnan(ind.session_vwap(c)).all()


def test_trade_vwap():
    # (100*1 + 101*3 + 99*1) / 5 = 502/5 = 100.4
    assert ind.trade_vwap(np.array([100.0, 101, 99]), np.array([1.0, 3, 1])) == pytest.approx(100.4)
    assert math.isnan(ind.trade_vwap(np.array([]), np.array([])))
    with pytest.raises(ValueError):
        ind.trade_vwap(np.array([1.0, 2.0]), np.array([1.0]))


def test_percentile_rank():
    # last value 3 among (1, 3, 5, 3): one below, two equal -> (1 + 0.5*2)/4 = 50%
    assert ind.percentile_rank(np.array([9.0, 1, 3, 5, 3]), 4) == 50.0
    assert math.isnan(ind.percentile_rank(np.array([NAN, NAN, 1.0]), 3))


def test_compute_features_matches_single_functions(bars):
    p = IndicatorParams(ema_fast=5, ema_slow=13, velocity_period=4)
    f = ind.compute_features(bars, p)
    np.testing.assert_array_equal(f.ema_fast, ind.ema(bars.close, 5))
    np.testing.assert_array_equal(f.adx, ind.adx(bars.high, bars.low, bars.close, 14))
    np.testing.assert_array_equal(f.acceleration, ind.acceleration(bars.close, 4))
    np.testing.assert_array_equal(f.vwap, ind.session_vwap(bars))
    np.testing.assert_array_equal(f.bbands[0], ind.bbands(bars.close, 20, 2.0)[0])
    assert f.last("rsi") == ind.rsi(bars.close, 14)[-1]
    many = ind.compute_features_many({"a": bars, "b": bars.slice(0, 100)}, p)
    assert set(many) == {"a", "b"} and len(many["b"].close) == 100


def test_trend_direction():
    up = np.linspace(100, 200, 60)
    t = np.arange(60, dtype=np.int64) * 3600
    assert ind.trend_direction(_candles(t, up, up, up, np.ones(60))) == 1
    assert ind.trend_direction(_candles(t, up[::-1], up[::-1], up[::-1], np.ones(60))) == -1
    assert ind.trend_direction(_candles(t[:5], up[:5], up[:5], up[:5], np.ones(5))) == 0  # too short
