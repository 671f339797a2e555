"""Strategy plugins on small hand-made candle series: where each must fire, and where it must not."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from shared.config.errors import ConfigError
from shared.execution.models import PositionReport
from shared.market.candles import Candles
from shared.signals.base import Action, SymbolContext
from shared.signals.strategies import REGISTRY, Features, Signal, build_strategies, build_strategy, run_strategies
from shared.signals.strategies.breakout import Breakout, BreakoutParams
from shared.signals.strategies.mean_reversion import MeanReversion
from shared.signals.strategies.momentum import Momentum, MomentumParams
from shared.signals.strategies.short_momentum import ShortMomentum
from shared.signals.strategies.vwap_reversion import VwapReversion, VwapReversionParams

HOUR = 3600
DAY0 = 1_700_006_400  # 2023-11-15 00:00 UTC (a UTC midnight)


def candles(close, *, high=None, low=None, open_=None, volume=None, start=DAY0, tf="1h") -> Candles:
    c = np.asarray(close, dtype=np.float64)
    o = np.r_[c[0], c[:-1]] if open_ is None else np.asarray(open_, dtype=np.float64)
    h = np.maximum(o, c) + 0.5 if high is None else np.asarray(high, dtype=np.float64)
    lo = np.minimum(o, c) - 0.5 if low is None else np.asarray(low, dtype=np.float64)
    v = np.full_like(c, 100.0) if volume is None else np.asarray(volume, dtype=np.float64)
    step = {"1h": HOUR, "5m": 300}[tf]
    t = start + step * np.arange(len(c), dtype=np.int64)
    return Candles("TEST/USDT", tf, t, o, h, lo, c, v)


def ctx(c: Candles, *, qty: float = 0.0, allow_short: bool = True) -> SymbolContext:
    pos = PositionReport(c.symbol, qty, 100.0) if qty else None
    now = datetime.fromtimestamp(int(c.open_time[-1]) + c.seconds, tz=timezone.utc)
    return SymbolContext(c.symbol, now, {c.timeframe: c}, c.timeframe, pos, allow_short)


def only(signals: list[Signal]) -> Signal:
    assert len(signals) == 1, signals
    return signals[0]


# 30 quiet candles: closes alternate 99.5 / 100.5 (RSI ~50, flat bands, range 99..101).
QUIET = [100 + (0.5 if i % 2 else -0.5) for i in range(30)]


def _walk(start_series: list[float], steps: list[float]) -> list[float]:
    out = list(start_series)
    for s in steps:
        out.append(out[-1] + s)
    return out


# Up-moves that grow each time with constant pullbacks: velocity rises, acceleration stays > 0, RSI ~71.
RALLY = _walk(QUIET, [1.0, -0.6, 1.4, -0.6, 1.8, -0.6, 2.2, -0.6, 2.6, -0.6, 3.0])
# The mirror for shorts: falls that grow, bounces that shrink (acceleration < 0 on every candle), RSI ~30.
SELLOFF = _walk(QUIET, [-1.0, 0.8, -1.4, 0.7, -1.8, 0.6, -2.2, 0.5, -2.6, 0.4, -3.0])
MOM = MomentumParams(lookback=4, threshold_pct=1.5, persistence=3)


# -- registry --------------------------------------------------------------------------------------------

def test_registry_names_and_unknown_name_is_config_error():
    assert set(REGISTRY) == {"momentum", "mean_reversion", "breakout", "vwap_reversion", "short_momentum"}
    with pytest.raises(ConfigError) as e:
        build_strategies({"momentum": {}, "momentun": {}}, setting="profiles.p.strategies")
    assert e.value.setting == "profiles.p.strategies" and e.value.value == "momentun"
    assert "mean_reversion" in e.value.allowed


def test_bad_param_names_setting_and_extra_key_is_forbidden():
    with pytest.raises(ConfigError) as e:
        build_strategy("momentum", {"lookbak": 5}, setting="profiles.p.strategies")
    assert e.value.setting == "profiles.p.strategies.momentum.lookbak"
    with pytest.raises(ConfigError) as e:
        build_strategy("breakout", {"volume_z": -1})
    assert e.value.setting.endswith("breakout.volume_z")


def test_build_from_list_and_mapping_keeps_order_and_params():
    s = build_strategies(["breakout", "momentum"])
    assert list(s) == ["breakout", "momentum"] and s["momentum"].params == MomentumParams()
    s = build_strategies({"momentum": {"lookback": 4}, "mean_reversion": None})
    assert s["momentum"].params.lookback == 4 and list(s) == ["momentum", "mean_reversion"]


def test_signal_validates_action_and_confidence():
    with pytest.raises(ValueError):
        Signal(Action.WAIT, "x", 0.5, "r")
    with pytest.raises(ValueError):
        Signal(Action.BUY, "x", 1.2, "r")


# -- momentum --------------------------------------------------------------------------------------------

def test_momentum_buys_a_persistent_accelerating_rally():
    c = candles(RALLY)
    s = only(Momentum(MOM).evaluate(ctx(c)))
    assert s.action is Action.BUY and s.source == "momentum"
    assert 0.5 < s.confidence <= 1.0
    assert s.metadata["velocity_pct"] > 1.5 and s.metadata["acceleration_pp"] > 0 and s.metadata["rsi"] < 75
    assert "velocity" in s.reason and "RSI" in s.reason


def test_momentum_rsi_filter_blocks_buying_the_top():
    assert Momentum(MOM.model_copy(update={"rsi_overbought": 70})).evaluate(ctx(candles(RALLY))) == []


def test_momentum_needs_persistence():
    # Early in the rally the condition holds on the last candle only: enough for persistence 1, not for 3.
    early = candles(RALLY[:36])
    assert only(Momentum(MOM.model_copy(update={"persistence": 1})).evaluate(ctx(early))).action is Action.BUY
    assert Momentum(MOM).evaluate(ctx(early)) == []
    # Eight candles back a pullback had negative acceleration: the streak is shorter than 8.
    assert Momentum(MOM.model_copy(update={"persistence": 8})).evaluate(ctx(candles(RALLY))) == []


SMOOTH = [100 + (0.05 if i % 2 else -0.05) for i in range(30)]  # a near-flat base, so the steps below dominate


def test_momentum_velocity_must_hold_for_persistence_candles():
    c = candles(_walk(SMOOTH, [0.1, 0.2, 0.35, 0.55, 0.8, 1.1]))  # velocity 1.2, 1.9, 2.8 %; acceleration > 0
    p = MOM.model_copy(update={"rsi_overbought": 95})
    assert Momentum(p).evaluate(ctx(c)) == []
    assert only(Momentum(p.model_copy(update={"persistence": 2})).evaluate(ctx(c))).action is Action.BUY


def test_momentum_decelerating_move_is_not_momentum():
    c = candles(_walk(SMOOTH, [1.5, 1.4, 1.3, 1.2, 1.1, 1.0, 0.9]))  # velocity > 4 % but shrinking
    assert Momentum(MOM.model_copy(update={"rsi_overbought": 99, "persistence": 1})).evaluate(ctx(c)) == []


def test_momentum_quiet_market_and_warmup_are_silent():
    assert Momentum(MOM).evaluate(ctx(candles(QUIET))) == []
    assert Momentum(MOM).evaluate(ctx(candles(RALLY[:10]))) == []  # fewer than rsi_period + 1 candles


def test_momentum_never_sells_to_open_and_closes_a_long_on_a_selloff():
    c = candles(SELLOFF)
    assert Momentum(MOM).evaluate(ctx(c, allow_short=True)) == []  # shorts are short_momentum's job
    s = only(Momentum(MOM).evaluate(ctx(c, qty=1.0, allow_short=False)))
    assert s.action is Action.CLOSE and "close the long" in s.reason


def test_momentum_rally_against_a_short_closes_it():
    assert only(Momentum(MOM).evaluate(ctx(candles(RALLY), qty=-1.0))).action is Action.CLOSE


# -- short momentum --------------------------------------------------------------------------------------

def test_short_momentum_sells_the_mirror_on_futures():
    s = only(ShortMomentum(MOM).evaluate(ctx(candles(SELLOFF), allow_short=True)))
    assert s.action is Action.SELL and s.source == "short_momentum" and s.metadata["velocity_pct"] < -1.5


def test_short_momentum_never_fires_on_spot():
    assert ShortMomentum(MOM).evaluate(ctx(candles(SELLOFF), allow_short=False)) == []
    assert ShortMomentum(MOM).evaluate(ctx(candles(SELLOFF), qty=1.0, allow_short=False)) == []


def test_short_momentum_rsi_filter_and_rally_is_silent():
    assert ShortMomentum(MOM.model_copy(update={"rsi_oversold": 35})).evaluate(ctx(candles(SELLOFF))) == []
    assert ShortMomentum(MOM).evaluate(ctx(candles(RALLY))) == []


def test_short_momentum_closes_its_short_when_the_fall_fades():
    s = only(ShortMomentum(MOM).evaluate(ctx(candles(RALLY), qty=-2.0)))
    assert s.action is Action.CLOSE


# -- mean reversion --------------------------------------------------------------------------------------

DROP = QUIET + [99.0, 97.0, 94.0, 90.0]  # last close 90 < lower band ~93.9, RSI ~27
POP = QUIET + [101.0, 103.0, 106.0, 110.0]  # last close 110 > upper band ~106.1, RSI ~74


def test_mean_reversion_buys_below_lower_band_when_oversold():
    s = only(MeanReversion().evaluate(ctx(candles(DROP))))
    assert s.action is Action.BUY and s.metadata["close"] < s.metadata["bb_lower"] and s.metadata["rsi"] < 30


def test_mean_reversion_needs_rsi_confirmation():
    # One candle earlier: close 94 is below the lower band (~96.5) but RSI ~34 is not oversold.
    assert MeanReversion().evaluate(ctx(candles(DROP[:-1]))) == []
    assert MeanReversion().evaluate(ctx(candles(QUIET))) == []


def test_mean_reversion_above_upper_band_sells_on_futures_only():
    assert only(MeanReversion().evaluate(ctx(candles(POP), allow_short=True))).action is Action.SELL
    assert MeanReversion().evaluate(ctx(candles(POP), allow_short=False)) == []
    assert only(MeanReversion().evaluate(ctx(candles(POP), qty=1.0, allow_short=False))).action is Action.CLOSE


def test_mean_reversion_closes_at_the_middle_band():
    back = DROP + [95.0, 100.5]
    s = only(MeanReversion().evaluate(ctx(candles(back), qty=1.0)))
    assert s.action is Action.CLOSE and s.metadata["close"] >= s.metadata["bb_mid"]
    # Flat, the same candle is no signal: the middle band is an exit, not an entry.
    assert MeanReversion().evaluate(ctx(candles(back))) == []
    # Long but still below the middle: hold.
    assert MeanReversion().evaluate(ctx(candles(DROP + [95.0]), qty=1.0)) == []


# -- breakout --------------------------------------------------------------------------------------------

def _breakout_series(last_close: float, last_volume: float) -> Candles:
    close = QUIET + [last_close]
    vol = [90.0 if i % 2 else 110.0 for i in range(30)] + [last_volume]
    return candles(close, volume=vol)  # range of the 30 quiet candles: 99..101


def test_breakout_up_on_volume_spike():
    s = only(Breakout().evaluate(ctx(_breakout_series(102.0, 400.0))))
    assert s.action is Action.BUY and s.metadata["volume_z"] > 2 and s.metadata["range_high"] == pytest.approx(101.0)


def test_breakout_without_volume_or_inside_range_is_silent():
    assert Breakout().evaluate(ctx(_breakout_series(102.0, 105.0))) == []  # no volume spike
    assert Breakout().evaluate(ctx(_breakout_series(100.8, 400.0))) == []  # spike inside the range


def test_breakout_down_sells_on_futures_closes_long_on_spot():
    c = _breakout_series(98.0, 400.0)
    assert only(Breakout().evaluate(ctx(c, allow_short=True))).action is Action.SELL
    assert Breakout().evaluate(ctx(c, allow_short=False)) == []
    assert only(Breakout().evaluate(ctx(c, qty=1.0, allow_short=False))).action is Action.CLOSE


def test_breakout_threshold_is_the_profile_param():
    c = _breakout_series(102.0, 400.0)
    z = only(Breakout().evaluate(ctx(c))).metadata["volume_z"]
    assert Breakout(BreakoutParams(volume_z=z + 0.1)).evaluate(ctx(c)) == []


# -- vwap reversion --------------------------------------------------------------------------------------

def _vwap_series(last_close: float, start: int = DAY0 - 12 * HOUR) -> Candles:
    # 12 quiet hours yesterday + 11 today closing 99.9 / 100.1 with +-0.2 wicks (VWAP ~100, ATR ~0.4),
    # then one candle from 100.1 to last_close.
    close = np.array([100 + (0.1 if i % 2 else -0.1) for i in range(23)] + [last_close])
    open_ = np.r_[close[0], close[:-1]]
    return candles(close, open_=open_, high=np.maximum(open_, close) + 0.2, low=np.minimum(open_, close) - 0.2,
                   start=start)


def test_vwap_reversion_buys_a_stretch_below_vwap():
    s = only(VwapReversion().evaluate(ctx(_vwap_series(97.0))))
    assert s.action is Action.BUY and s.metadata["stretch"] > 2.0
    assert s.metadata["session_bars"] == 12 and s.metadata["session_vwap"] == pytest.approx(100.0, abs=0.5)


def test_vwap_reversion_small_stretch_is_silent_and_pct_unit_works():
    assert VwapReversion().evaluate(ctx(_vwap_series(99.4))) == []  # ~1.4 ATR below VWAP
    pct = VwapReversionParams(stretch_unit="pct", stretch=0.5)  # 0.6% below VWAP
    assert only(VwapReversion(pct).evaluate(ctx(_vwap_series(99.4)))).action is Action.BUY
    assert VwapReversion(pct.model_copy(update={"stretch": 0.7})).evaluate(ctx(_vwap_series(99.4))) == []


def test_vwap_reversion_above_vwap_respects_allow_short_and_closes_at_vwap():
    hi = _vwap_series(103.0)
    assert only(VwapReversion().evaluate(ctx(hi, allow_short=True))).action is Action.SELL
    assert VwapReversion().evaluate(ctx(hi, allow_short=False)) == []
    assert only(VwapReversion().evaluate(ctx(_vwap_series(100.1), qty=1.0))).action is Action.CLOSE
    assert VwapReversion().evaluate(ctx(_vwap_series(99.4), qty=1.0)) == []  # long, below VWAP: hold


def test_vwap_reversion_waits_for_enough_session_candles():
    # Only 2 candles of today: a 2-candle VWAP is not trusted.
    c = _vwap_series(97.0, start=DAY0 - 22 * HOUR)
    assert VwapReversion().evaluate(ctx(c)) == []


# -- shared plumbing -------------------------------------------------------------------------------------

def test_features_compute_each_indicator_once_and_run_strategies_shares_them(monkeypatch):
    from shared.signals import indicators
    calls = {"rsi": 0}
    real = indicators.rsi

    def counting(x, n=14):
        calls["rsi"] += 1
        return real(x, n)

    monkeypatch.setattr(indicators, "rsi", counting)
    strategies = build_strategies({"momentum": MOM.model_dump(), "short_momentum": MOM.model_dump(),
                                   "mean_reversion": {"rsi_period": 14}})
    c = ctx(candles(RALLY))
    out = run_strategies(strategies, list(strategies), c, Features(c.base))
    assert calls["rsi"] == 1  # three strategies, one RSI(14)
    assert [s.source for s in out] == ["momentum", "mean_reversion"]  # 109.5 is also above the upper band


def test_features_keep_only_the_tail():
    c = candles(np.linspace(100, 120, 1500))
    assert len(Features(c, max_bars=1000)) == 1000 and len(Features(c).full) == 1500
