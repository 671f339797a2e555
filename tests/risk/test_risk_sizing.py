"""Sizing: conviction map, volatility adjustment, Kelly cap (below/above N), bucket downgrade, lot/tick rounding,
minimum notional, futures margin x leverage. Every expected number is worked out in the comments."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from shared.config.profiles import Profile, RiskParams
from shared.execution.models import MarketInfo, Side
from shared.risk.config import KellyConfig, RiskBucket, RiskConfig, SizingConfig
from shared.risk.engine import RiskEngine
from shared.risk.kelly import kelly_estimate
from shared.risk.sizing import conviction_fraction, size_position
from shared.risk.views import ClosedTrade, EntryRequest, EquityView, PortfolioView

NOW = datetime(2025, 3, 3, 12, 0, tzinfo=timezone.utc)
SOL = MarketInfo("SOL/USD", "spot", "SOL", "USD", lot_step=0.001, tick_size=0.01, min_notional=10.0)
BTC = MarketInfo("BTC/USD", "spot", "BTC", "USD", lot_step=0.0001, tick_size=0.01, min_notional=10.0)
ETH_PERP = MarketInfo("ETH/USDT:USDT", "futures", "ETH", "USDT", lot_step=0.001, tick_size=0.01, min_notional=5.0,
                      max_leverage=20, maintenance_margin_rate=0.005)
NO_KELLY = kelly_estimate([], KellyConfig(min_trades=20))


def spot_profile(stop: float = 2.0) -> Profile:
    return Profile(name="spot", leverage=1, risk=RiskParams(max_position_pct=10, max_open_positions=3,
                                                            stop_loss_pct=stop, take_profit_pct=4))


def view(equity: float = 10_000.0, peak: float | None = None, trades: tuple[ClosedTrade, ...] = ()) -> PortfolioView:
    return PortfolioView("hybrid", NOW, EquityView(equity, peak or equity, equity),
                         EquityView(2 * equity, 2 * (peak or equity), 2 * equity), closed_trades=trades)


def engine(cfg: RiskConfig | None = None, profile: Profile | None = None) -> RiskEngine:
    return RiskEngine(cfg or RiskConfig(), profile or spot_profile(), kill_switch_path=Path("/nonexistent/KILL"))


@pytest.mark.parametrize("conviction,expected", [(0, 0.2), (5, 0.6), (7.5, 0.8), (10, 1.0), (-3, 0.2), (12, 1.0)])
def test_conviction_linear_map(conviction, expected):
    # f = 0.2 + 0.8 * c / 10, c clamped to 0..10:  5 -> 0.6, 7.5 -> 0.8
    assert conviction_fraction(conviction, SizingConfig()) == pytest.approx(expected)


def test_conviction_bound_size_with_lot_and_tick_rounding():
    # equity 10 000, max 10 % -> A = M = 1 000; conviction 5 -> 60 % -> C = 600
    # stop 2 %, risk 1 % -> budget 100, V = 100 / 0.02 = 5 000; no Kelly (0 trades) -> T = min(600, 5000) = 600
    # price 30 017.123 -> tick 0.01 -> 30 017.12; 600 / 30 017.12 = 0.0199886 -> lot 0.0001 -> 0.0199
    # notional = 0.0199 * 30 017.12 = 597.340688
    r = engine().size_entry(EntryRequest("BTC/USD", Side.BUY, 30_017.123, 5, BTC), view())
    assert r.ok and r.binding == "conviction"
    assert r.max_notional == 1_000 and r.conviction_notional == pytest.approx(600)
    assert r.vol_notional == pytest.approx(5_000) and r.risk_budget == pytest.approx(100)
    assert r.price == 30_017.12 and r.qty == pytest.approx(0.0199)
    assert r.notional == pytest.approx(597.340688)
    assert not r.kelly_applied and any("Kelly not applied: 0 closed trades < 20 needed" in x for x in r.reasons)


def test_volatility_bound_size():
    # stop 8 %, risk 0.5 %: budget = 50, V = 50 / 0.08 = 625; conviction 10 -> C = 1 000 -> T = 625
    # price 100 -> qty 6.25, notional 625; risk at stop = 625 * 8 % = 50 = the budget
    cfg = RiskConfig(sizing=SizingConfig(risk_per_trade_pct=0.5))
    r = engine(cfg, spot_profile(stop=8.0)).size_entry(EntryRequest("SOL/USD", Side.BUY, 100.0, 10, SOL), view())
    assert r.binding == "volatility"
    assert r.vol_notional == pytest.approx(625) and r.qty == pytest.approx(6.25) and r.risk_at_stop == pytest.approx(50)


def _trades(pnls: list[float]) -> tuple[ClosedTrade, ...]:
    return tuple(ClosedTrade("SOL/USD", p, NOW - timedelta(hours=len(pnls) - i)) for i, p in enumerate(pnls))


def test_kelly_below_n_does_not_cap():
    # 9 trades < min 10: size stays conviction-bound at 600 (conviction 5), and the reasons say why
    cfg = RiskConfig(kelly=KellyConfig(min_trades=10, fraction=0.1))
    pnls = [30.0, -20.0, 30.0, 30.0, -20.0, 30.0, -20.0, 30.0, -20.0]
    r = engine(cfg).size_entry(EntryRequest("SOL/USD", Side.BUY, 100.0, 5, SOL), view(trades=_trades(pnls)))
    assert not r.kelly_applied and r.kelly_notional is None and r.binding == "conviction"
    assert r.notional == pytest.approx(600)
    assert "Kelly not applied: 9 closed trades < 10 needed" in r.reasons


def test_kelly_above_n_caps_the_size():
    # 10 trades: W = 0.6, R = 1.5, K* = 1/3; fraction 0.1 -> 3.3333 % of 10 000 = 333.33 < C = 600 -> Kelly binds
    # qty = floor(333.333 / 100 / 0.001) * 0.001 = 3.333 -> notional 333.30
    cfg = RiskConfig(kelly=KellyConfig(min_trades=10, fraction=0.1))
    pnls = [30.0, -20.0, 30.0, 30.0, -20.0, 30.0, -20.0, 30.0, -20.0, 30.0]
    r = engine(cfg).size_entry(EntryRequest("SOL/USD", Side.BUY, 100.0, 5, SOL), view(trades=_trades(pnls)))
    assert r.kelly_applied and r.binding == "kelly"
    assert r.kelly_allocation_pct == pytest.approx(3.333333, abs=1e-5)
    assert r.kelly_notional == pytest.approx(333.3333, abs=1e-3)
    assert r.qty == pytest.approx(3.333) and r.notional == pytest.approx(333.30)


def test_danger_state_downgrades_to_low_bucket():
    # conviction 5 -> 600; DANGER -> LOW bucket 0.25 -> 150 -> qty 1.5 at 100
    r = engine().size_entry(EntryRequest("SOL/USD", Side.BUY, 100.0, 5, SOL, risk_state="DANGER"), view())
    assert r.bucket is RiskBucket.LOW and r.downgraded and r.bucket_fraction == 0.25
    assert r.notional == pytest.approx(150)


def test_near_drawdown_limit_downgrades_to_low_bucket():
    # peak 10 000, equity 9 050: drawdown 9.5 % >= 10 % - 1 point -> LOW
    # A = 905, conviction 5 -> C = 543, x 0.25 = 135.75 -> qty floor(1.3575 / 0.001) * 0.001 = 1.357 -> 135.70
    r = engine().size_entry(EntryRequest("SOL/USD", Side.BUY, 100.0, 5, SOL), view(equity=9_050, peak=10_000))
    assert r.bucket is RiskBucket.LOW and r.notional == pytest.approx(135.70)
    assert any("within 1 points of the 10% limit" in x for x in r.reasons)
    # equity 9 110: drawdown 8.9 % < 9 % -> NORMAL: C = 911 * 0.6 = 546.6 -> qty 5.466
    r = engine().size_entry(EntryRequest("SOL/USD", Side.BUY, 100.0, 5, SOL), view(equity=9_110, peak=10_000))
    assert r.bucket is RiskBucket.NORMAL and r.qty == pytest.approx(5.466)


def test_below_minimum_notional_is_skipped_with_reason():
    # equity 100: A = 10, conviction 0 -> 20 % -> 2.00; qty 0.02 -> notional 2 < min 10 -> skipped
    r = engine().size_entry(EntryRequest("SOL/USD", Side.BUY, 100.0, 0, SOL), view(equity=100))
    assert not r.ok and r.qty == 0 and r.notional == 0
    assert r.skipped_reason == "size 2.00 is below the venue minimum notional 10"


def test_below_one_lot_is_skipped():
    # target 2.00 at price 30 000 -> 0.0000667 BTC < one lot of 0.0001 -> qty 0
    r = engine().size_entry(EntryRequest("BTC/USD", Side.BUY, 30_000.0, 0, BTC), view(equity=100))
    assert not r.ok and "below one lot" in r.skipped_reason


def test_free_balance_caps_the_size():
    # free 300, headroom 2 % -> 294 < C = 600 -> binds; qty 2.94
    v = PortfolioView("hybrid", NOW, EquityView(10_000, 10_000, 10_000, free=300.0), EquityView(20_000, 20_000, 20_000))
    r = engine().size_entry(EntryRequest("SOL/USD", Side.BUY, 100.0, 5, SOL), v)
    assert r.binding == "free_balance" and r.free_notional == pytest.approx(294) and r.qty == pytest.approx(2.94)


def test_futures_margin_times_capped_leverage():
    # profile 15 %, requested 10x, config max 5x, venue 20x -> 5x. A = 1 500 margin, M = 7 500 notional
    # conviction 10 -> C = 7 500; short stop 3 % above 2 000 = 2 060.00 -> V = 100 / 0.03 = 3 333.33 -> volatility binds
    # qty = floor(3 333.33 / 2 000 / 0.001) * 0.001 = 1.666 -> notional 3 332, margin 3 332 / 5 = 666.40
    prof = Profile(name="fut", leverage=10, risk=RiskParams(max_position_pct=15, max_open_positions=4,
                                                             stop_loss_pct=3, take_profit_pct=6))
    r = engine(RiskConfig(), prof).size_entry(EntryRequest("ETH/USDT:USDT", Side.SELL, 2_000.0, 10, ETH_PERP, atr=10),
                                              view())
    assert r.leverage == 5 and r.max_allocation == 1_500 and r.max_notional == 7_500
    assert r.binding == "volatility" and r.vol_notional == pytest.approx(3_333.333, abs=1e-3)
    assert r.qty == pytest.approx(1.666) and r.notional == pytest.approx(3_332) and r.allocation == pytest.approx(666.4)


def test_size_position_reports_every_intermediate_number():
    r = size_position(equity=10_000, price=100.0, conviction=5, market=SOL, max_position_pct=10, leverage=1,
                      stop_distance_pct=2.0, kelly=NO_KELLY, bucket=RiskBucket.NORMAL, bucket_reason="bucket NORMAL",
                      cfg=SizingConfig())
    d = r.to_dict()
    for key in ("max_allocation", "max_notional", "conviction_fraction", "conviction_notional", "risk_budget",
                "vol_notional", "kelly_applied", "bucket_fraction", "binding", "target_notional", "qty", "notional"):
        assert key in d
    assert d["bucket"] == "NORMAL" and d["target_notional"] == pytest.approx(600)
