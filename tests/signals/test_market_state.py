"""Regime rules, the TRANSITION tracker, contradictions, calendar/session/risk fields, and closed-candle-only timeframes."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from shared.market.candles import Candles
from shared.market.datafiles import load_candles
from shared.market.replay import ReplayFeed
from shared.signals.base import SymbolContext
from shared.signals.config import RegimeParams, SignalsConfig, StateParams
from shared.signals.indicators import Features, compute_features
from shared.signals.market_state import (DayType, RiskState, Session, WeekPhase, build_market_state, calendar_of,
                                         find_contradiction, risk_state, session_of, timeframe_trends)
from shared.signals.regime import (Regime, RegimeTracker, TrendStrength, VolatilityLevel, classify_raw,
                                   trend_strength, volatility_level)

DATA = Path(__file__).resolve().parents[2] / "data"
P = RegimeParams()  # adx_trend 25, exit 18, moderate 20, strong 40, vol 30/70, confirm 3
B, S, L, H, T = (Regime.BULL_TREND, Regime.BEAR_TREND, Regime.SIDEWAYS_LOW_VOL, Regime.SIDEWAYS_HIGH_VOL,
                 Regime.TRANSITION)
UTC = timezone.utc


# --- raw classification -------------------------------------------------------------------------------

def test_bull_and_bear_need_adx_ema_alignment_and_price_side():
    r = classify_raw(close=105, ema_fast=104, ema_slow=100, macd_hist=0.5, adx_value=29, atr_percentile=50, p=P)
    assert r.regime is B
    # s_adx = (29 - 18) / (40 - 18) = 0.5; MACD agrees -> 0.5 + 0.25*0.5 + 0.25*1 = 0.875
    assert r.confidence == pytest.approx(0.875)
    r = classify_raw(close=95, ema_fast=96, ema_slow=100, macd_hist=0.5, adx_value=40, atr_percentile=50, p=P)
    assert r.regime is S
    # s_adx = 1, MACD disagrees -> 0.5 + 0.25 + 0 = 0.75
    assert r.confidence == pytest.approx(0.75)


def test_trending_adx_with_conflicting_direction_is_transition():
    r = classify_raw(close=99, ema_fast=104, ema_slow=100, macd_hist=0.5, adx_value=30, atr_percentile=50, p=P)
    assert r.regime is T and "disagree" in r.reason


def test_sideways_split_by_volatility():
    low = classify_raw(close=100, ema_fast=101, ema_slow=100, macd_hist=0, adx_value=15, atr_percentile=50, p=P)
    high = classify_raw(close=100, ema_fast=101, ema_slow=100, macd_hist=0, adx_value=15, atr_percentile=85, p=P)
    assert (low.regime, high.regime) == (L, H)
    # low: s_flat = (25-15)/10 = 1, s_vol = (70-50)/70 = 0.2857 -> 0.5 + 0.25 + 0.0714 = 0.8214
    assert low.confidence == pytest.approx(0.5 + 0.25 + 0.25 * 20 / 70)
    # high: s_flat = 1, s_vol = (85-70)/30 = 0.5 -> 0.5 + 0.25 + 0.125 = 0.875
    assert high.confidence == pytest.approx(0.875)


def test_hysteresis_keeps_a_confirmed_trend_until_adx_exit():
    args = dict(close=101, ema_fast=102, ema_slow=100, macd_hist=0.1, adx_value=21, atr_percentile=50, p=P)
    assert classify_raw(**args).regime is L  # no trend confirmed: ADX 21 < 25 is sideways
    assert classify_raw(**args, confirmed=B).regime is B  # confirmed bull holds while ADX >= 18
    assert classify_raw(**{**args, "adx_value": 17}, confirmed=B).regime is L
    assert classify_raw(**{**args, "ema_fast": 99}, confirmed=B).regime is L  # EMAs crossed: the trend is over
    # a confirmed SIDEWAYS_HIGH_VOL holds through NORMAL volatility, leaves on LOW
    side = dict(close=100, ema_fast=100.5, ema_slow=100, macd_hist=0, adx_value=15, p=P, confirmed=H)
    assert classify_raw(**side, atr_percentile=50).regime is H
    assert classify_raw(**side, atr_percentile=20).regime is L


def test_nan_input_is_warming_up():
    r = classify_raw(close=100, ema_fast=float("nan"), ema_slow=100, macd_hist=0, adx_value=30, atr_percentile=50, p=P)
    assert r.regime is T and r.confidence == 0.0


def test_buckets():
    assert [volatility_level(x, P) for x in (29.9, 30, 70, 70.1)] == [
        VolatilityLevel.LOW, VolatilityLevel.NORMAL, VolatilityLevel.NORMAL, VolatilityLevel.HIGH]
    assert [trend_strength(x, P) for x in (19.9, 20, 39.9, 40)] == [
        TrendStrength.WEAK, TrendStrength.MODERATE, TrendStrength.MODERATE, TrendStrength.STRONG]


# --- tracker ---------------------------------------------------------------------------------------------

def feed(tracker: RegimeTracker, seq: list[Regime], start_bar: int = 0) -> list[Regime]:
    return [tracker.update(r, start_bar + i).regime for i, r in enumerate(seq)]


def test_tracker_needs_confirm_cycles_of_transition_at_start_and_on_change():
    t = RegimeTracker(3)
    assert feed(t, [B, B, B, B, B]) == [T, T, T, B, B]
    # a change: TRANSITION for 3 candles, confirmed on the 4th consistent one
    assert feed(t, [S, S, S, S], start_bar=5) == [T, T, T, S]


def test_tracker_interrupted_evidence_restarts_the_count():
    t = RegimeTracker(2)
    assert feed(t, [B, B, B]) == [T, T, B]
    # one candle of bear evidence, then bull again: still TRANSITION until bull has agreed for 3 candles again
    assert feed(t, [S, B, B, B], start_bar=3) == [T, T, T, B]
    st = t.update(L, 100)
    assert (st.regime, st.candidate, st.streak) == (T, L, 1)


def test_tracker_conflicting_evidence_never_confirms():
    t = RegimeTracker(1)
    assert feed(t, [T] * 5) == [T] * 5


def test_tracker_counts_each_candle_once():
    t = RegimeTracker(2)
    for _ in range(10):  # a fast cycle sees the same closed candle many times
        assert t.update(B, 1000).regime is T
    assert t.update(B, 1300).regime is T
    assert t.update(B, 1600).regime is B


def test_trackers_are_independent():
    a, b = RegimeTracker(1), RegimeTracker(1)
    feed(a, [B, B])
    assert a.confirmed is B and b.confirmed is None


# --- contradictions ------------------------------------------------------------------------------------

@pytest.mark.parametrize("regime,vol,strength,direction,close,want", [
    (L, VolatilityLevel.HIGH, TrendStrength.WEAK, 0, 100, "SIDEWAYS_LOW_VOL with HIGH volatility"),
    (H, VolatilityLevel.LOW, TrendStrength.WEAK, 0, 100, "SIDEWAYS_HIGH_VOL with LOW volatility"),
    (L, VolatilityLevel.NORMAL, TrendStrength.STRONG, 0, 100, "SIDEWAYS_LOW_VOL with a STRONG trend (ADX)"),
    (B, VolatilityLevel.NORMAL, TrendStrength.WEAK, 0, 99, "BULL_TREND with WEAK trend and price below the slow EMA"),
    (B, VolatilityLevel.NORMAL, TrendStrength.STRONG, -1, 99, "BULL_TREND while EMAs and price point down"),
    (S, VolatilityLevel.NORMAL, TrendStrength.WEAK, 0, 101, "BEAR_TREND with WEAK trend and price above the slow EMA"),
    (S, VolatilityLevel.HIGH, TrendStrength.MODERATE, 1, 101, "BEAR_TREND while EMAs and price point up"),
    (B, VolatilityLevel.HIGH, TrendStrength.WEAK, 1, 101, None),  # weak but price above the slow EMA: fine
    (L, VolatilityLevel.LOW, TrendStrength.MODERATE, 0, 100, None),
    (T, VolatilityLevel.HIGH, TrendStrength.STRONG, -1, 100, None),
])
def test_find_contradiction(regime, vol, strength, direction, close, want):
    assert find_contradiction(regime, vol, strength, direction, close, ema_slow=100) == want


# --- build_market_state on hand-made feature sets ------------------------------------------------------

CFG = SignalsConfig(regime=RegimeParams(vol_lookback=50), higher_timeframes=("4h",))
N = 50
HIST = np.linspace(0.1, 1.0, N - 1)  # ATR% history; the last value sets the percentile


def make_features(bar: int, close: float, ema_fast: float, ema_slow: float, adx: float, macd_hist: float = 0.1,
                  atr_pct_last: float = 0.5) -> Features:
    """A Features object whose last values are chosen by hand (only the last values and ATR% history matter)."""
    t = (np.arange(N, dtype=np.int64) - N + 1 + bar) * 3600
    closes = np.full(N, close, dtype=np.float64)
    atr = np.r_[HIST, atr_pct_last] / 100.0 * closes
    full = lambda v: np.full(N, v, dtype=np.float64)  # noqa: E731
    candles = Candles("X/USDT:USDT", "1h", t, closes, closes * 1.01, closes * 0.99, closes, np.ones(N))
    return Features(candles, CFG.indicators, full(ema_fast), full(ema_slow), full(50.0), full(0.0), full(0.0),
                    full(macd_hist), atr, full(adx), full(0.0), full(0.0), full(0.0))


def ctx_for(f: Features, now: datetime | None = None, **kw) -> SymbolContext:
    now = now or datetime.fromtimestamp(int(f.candles.open_time[-1]) + 3600, UTC)
    return SymbolContext(f.symbol, now, {"1h": f.candles}, "1h", None, True, **kw)


def test_state_enters_bull_after_transition_window():
    tr = RegimeTracker(CFG.regime.confirm_cycles)
    states = []
    for bar in range(4):
        f = make_features(bar, close=105, ema_fast=104, ema_slow=100, adx=30)
        states.append(build_market_state(ctx_for(f), f, tr, CFG))
    assert [s.regime for s in states] == [T, T, T, B]
    assert all(s.raw_regime is B for s in states)
    assert states[0].wait_reason().startswith("regime TRANSITION")
    assert states[-1].wait_reason() is None and states[-1].contradiction is None
    assert states[-1].regime_confidence == states[-1].raw_confidence
    # TRANSITION confidence falls as evidence accumulates: 1 - raw_conf * streak / (N+1)
    raw = states[0].raw_confidence
    assert [s.regime_confidence for s in states[:3]] == pytest.approx([1 - raw * k / 4 for k in (1, 2, 3)])
    assert states[-1].volatility is VolatilityLevel.NORMAL and states[-1].trend_strength is TrendStrength.MODERATE


def test_fading_trend_is_a_contradiction_and_waits():
    tr = RegimeTracker(1)
    for bar in range(2):
        f = make_features(bar, close=105, ema_fast=104, ema_slow=100, adx=30)
        build_market_state(ctx_for(f), f, tr, CFG)
    assert tr.confirmed is B
    # ADX 19: the confirmed bull holds (>= exit 18) but strength is WEAK and price fell below the slow EMA
    f = make_features(2, close=99, ema_fast=101, ema_slow=100, adx=19)
    st = build_market_state(ctx_for(f), f, tr, CFG)
    assert st.regime is B and st.trend_strength is TrendStrength.WEAK
    assert st.contradiction == "BULL_TREND with WEAK trend and price below the slow EMA"
    assert st.wait_reason() == "contradiction: BULL_TREND with WEAK trend and price below the slow EMA"


def test_volatility_levels_from_atr_percentile():
    tr = RegimeTracker(1)
    hi = make_features(0, close=100, ema_fast=100.2, ema_slow=100, adx=15, atr_pct_last=5.0)
    st = build_market_state(ctx_for(hi), hi, tr, CFG)
    # 49 history values below, the last equals itself: (49 + 0.5) / 50 = 99%
    assert st.atr_percentile == pytest.approx(99.0) and st.volatility is VolatilityLevel.HIGH
    assert st.raw_regime is H
    lo = make_features(1, close=100, ema_fast=100.2, ema_slow=100, adx=15, atr_pct_last=0.01)
    st = build_market_state(ctx_for(lo), lo, RegimeTracker(1), CFG)
    assert st.atr_percentile == pytest.approx(1.0) and st.volatility is VolatilityLevel.LOW and st.raw_regime is L


def test_calendar_levels_funding_and_risk_fields():
    f = make_features(0, close=100, ema_fast=100.2, ema_slow=100, adx=15)
    four_h = Candles("X", "4h", np.array([0, 14_400], np.int64), np.array([100.0, 100]), np.array([110.0, 104]),
                     np.array([97.0, 95]), np.array([100.0, 100]), np.ones(2))
    now = datetime(2025, 3, 5, 13, 30, tzinfo=UTC)  # a Wednesday, 13:30 UTC
    ctx = SymbolContext("X", now, {"1h": f.candles, "4h": four_h}, "1h", None, True,
                        drawdown_pct=6.0, funding_rate=-0.0007)
    st = build_market_state(ctx, f, RegimeTracker(3), CFG)
    assert (st.session, st.time_window, st.day_type, st.week_phase) == (
        Session.OVERLAP, "OVERLAP_mid", DayType.WEEKDAY, WeekPhase.MID)
    # key levels over the 4h candles: high 110, low 95, close 100 -> 10% to the high, 5% to the low
    assert (st.key_level_timeframe, st.key_high, st.key_low) == ("4h", 110.0, 95.0)
    assert st.dist_to_high_pct == pytest.approx(10.0) and st.dist_to_low_pct == pytest.approx(5.0)
    assert st.funding_extreme and st.funding_rate == -0.0007
    assert st.risk_state is RiskState.CAUTION
    d = st.details()
    assert d["regime"] == "TRANSITION" and d["session"] == "OVERLAP" and d["at"].startswith("2025-03-05T13:30")


@pytest.mark.parametrize("hour,session,label", [
    (0, Session.ASIA, "ASIA_mid"), (6, Session.ASIA, "ASIA_late"), (21, Session.ASIA, "ASIA_open"),
    (7, Session.LONDON, "LONDON_open"), (11, Session.LONDON, "LONDON_late"), (12, Session.OVERLAP, "OVERLAP_open"),
    (15, Session.OVERLAP, "OVERLAP_late"), (16, Session.NY, "NY_open"), (18, Session.NY, "NY_mid"),
    (20, Session.NY, "NY_late"),
])
def test_sessions(hour, session, label):
    assert session_of(datetime(2025, 3, 3, hour, 59, tzinfo=UTC)) == (session, label)


def test_session_uses_utc_for_aware_times():
    # 09:30 at UTC+2 is 07:30 UTC: London open
    assert session_of(datetime(2025, 3, 3, 9, 30, tzinfo=timezone(timedelta(hours=2))))[0] is Session.LONDON
    # a naive time is taken as UTC, whatever the host's time zone
    assert session_of(datetime(2025, 3, 3, 13, 0)) == (Session.OVERLAP, "OVERLAP_mid")


def test_calendar():
    assert calendar_of(datetime(2025, 3, 3, tzinfo=UTC)) == (DayType.WEEKDAY, WeekPhase.START)  # Monday
    assert calendar_of(datetime(2025, 3, 6, tzinfo=UTC)) == (DayType.WEEKDAY, WeekPhase.MID)  # Thursday
    assert calendar_of(datetime(2025, 3, 7, tzinfo=UTC)) == (DayType.WEEKDAY, WeekPhase.END)  # Friday
    assert calendar_of(datetime(2025, 3, 1, tzinfo=UTC)) == (DayType.WEEKEND, WeekPhase.END)  # Saturday


def test_risk_state_thresholds():
    p = StateParams()
    assert [risk_state(x, p) for x in (0, 4.99, 5, 9.99, 10, -12)] == [
        RiskState.SAFE, RiskState.SAFE, RiskState.CAUTION, RiskState.CAUTION, RiskState.DANGER, RiskState.DANGER]


def test_danger_waits():
    f = make_features(0, close=105, ema_fast=104, ema_slow=100, adx=30)
    tr = RegimeTracker(1)
    build_market_state(ctx_for(f), f, tr, CFG)
    f = make_features(1, close=105, ema_fast=104, ema_slow=100, adx=30)
    st = build_market_state(ctx_for(f, drawdown_pct=12.0), f, tr, CFG)
    assert st.regime is B and st.wait_reason() == "risk state DANGER (drawdown 12.0%)"


# --- multi-timeframe: a higher-timeframe candle is used only once it has closed -----------------------

@pytest.fixture(scope="module")
def eth_1h() -> Candles:
    c = load_candles(DATA / "futures_1h" / "ETH_USDT_USDT-1h-futures.csv.gz", "ETH/USDT:USDT", "1h")
    return c.slice(30_000, 31_000)


def test_replay_never_serves_an_open_higher_timeframe_candle(eth_1h):
    feed_ = ReplayFeed({"ETH": eth_1h})
    rnd = random.Random(7)
    t0, t1 = int(eth_1h.open_time[300]), int(eth_1h.open_time[-1])
    for _ in range(200):
        now = datetime.fromtimestamp(rnd.randrange(t0, t1), UTC)
        for tf, sec in (("4h", 14_400), ("1d", 86_400)):
            c = feed_.candles("ETH", now, 20, tf)
            assert len(c) > 0
            assert int(c.open_time[-1]) + sec <= now.timestamp()  # closed by now
            # and it is the newest closed bucket: the next one has not closed yet
            assert int(c.open_time[-1]) + 2 * sec > now.timestamp()


def test_open_bucket_cannot_change_higher_timeframe_trend(eth_1h):
    """At 10:30 UTC the 08:00-12:00 4h bucket is open: whatever its 1h candles say, the 4h view is the same."""
    day0 = int(eth_1h.open_time[500]) // 86_400 * 86_400
    now = datetime.fromtimestamp(day0 + 10 * 3600 + 1800, UTC)
    open_bucket = (eth_1h.open_time >= day0 + 8 * 3600)
    crash = Candles(eth_1h.symbol, "1h", eth_1h.open_time, *(np.where(open_bucket, col * 0.2, col) for col in (
        eth_1h.open, eth_1h.high, eth_1h.low, eth_1h.close)), eth_1h.volume)
    cfg = SignalsConfig(higher_timeframes=("4h",))
    views = []
    for series in (eth_1h, crash):
        f = ReplayFeed({"ETH": series})
        h4 = f.candles("ETH", now, 100, "4h")
        ctx = SymbolContext("ETH", now, {"1h": f.candles("ETH", now, 300), "4h": h4}, "1h", None, True)
        views.append((h4.open_time[-1], h4.close[-1], timeframe_trends(ctx, cfg)))
    assert views[0][0] == day0 + 4 * 3600  # the 04:00 bucket, closed at 08:00, is the newest
    assert views[0][1] == views[1][1] and views[0][2] == views[1][2]
    # the base timeframe does see the crash: the guard is about higher timeframes only
    assert ReplayFeed({"ETH": crash}).candles("ETH", now, 3).close[-1] < 0.5 * eth_1h.close[eth_1h.closed_count(now.timestamp()) - 1]


def test_real_data_state_is_consistent(eth_1h):
    """A few hundred real candles through features + state: every state is well-formed; TRANSITION or a
    contradiction always yields a wait reason."""
    cfg = SignalsConfig(higher_timeframes=("4h",))
    feed_ = ReplayFeed({"ETH": eth_1h})
    tr = RegimeTracker(cfg.regime.confirm_cycles)
    seen = set()
    for i in range(300, 700):
        now = eth_1h.close_time(i)
        cs = {"1h": feed_.candles("ETH", now, 300), "4h": feed_.candles("ETH", now, 60, "4h")}
        st = build_market_state(SymbolContext("ETH", now, cs, "1h", None, True), compute_features(cs["1h"], cfg.indicators), tr, cfg)
        seen.add(st.regime)
        assert 0.0 <= st.regime_confidence <= 1.0 and 0.0 <= st.atr_percentile <= 100.0
        if st.regime is Regime.TRANSITION or st.contradiction:
            assert st.wait_reason()
    assert Regime.TRANSITION in seen and len(seen) >= 3
