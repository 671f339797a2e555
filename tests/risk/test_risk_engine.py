"""The facade end to end: plan_entry for spot and futures, rejections carrying rule + numbers, config validation."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.config.profiles import Profile, RiskParams
from shared.execution.models import MarketInfo, Side
from shared.risk import (ClosedTrade, EntryRequest, EquityView, HeldPosition, PortfolioView, RiskConfig, RiskEngine)
from shared.risk.config import BucketConfig, LimitsConfig, PortfolioRiskConfig, SizingConfig

NOW = datetime(2025, 3, 3, 12, 0, tzinfo=timezone.utc)
KILL = Path("/nonexistent/KILL")
SOL = MarketInfo("SOL/USD", "spot", "SOL", "USD", lot_step=0.001, tick_size=0.01, min_notional=10.0)
ETH_PERP = MarketInfo("ETH/USDT:USDT", "futures", "ETH", "USDT", lot_step=0.001, tick_size=0.01, min_notional=5.0,
                      max_leverage=20, maintenance_margin_rate=0.005)
BTC_R = [0.01, -0.02, 0.015, -0.03, 0.005, 0.02, -0.01, 0.0, 0.025, -0.015]
ETH_R = [0.012, -0.028, 0.02, -0.045, 0.01, 0.03, -0.012, -0.002, 0.035, -0.02]
SOL_R = [0.002, 0.001, -0.003, 0.004, -0.001, 0.0, 0.003, -0.002, 0.001, -0.004]
HYBRID = Profile(name="momentum_standard", leverage=3,
                 risk=RiskParams(max_position_pct=10, max_open_positions=3, stop_loss_pct=2, take_profit_pct=4))
FUTURES = Profile(name="momentum_aggressive", leverage=5,
                  risk=RiskParams(max_position_pct=15, max_open_positions=4, stop_loss_pct=3, take_profit_pct=6))
PCFG = PortfolioRiskConfig(var_confidence=0.8, max_var_pct=1.0, horizon_periods=1, min_observations=10)


def hybrid_view(**kw) -> PortfolioView:
    base = dict(agent="hybrid", now=NOW, account=EquityView(10_000, 10_000, 10_000),
                fleet=EquityView(20_000, 20_000, 20_000), returns={"SOL/USD": SOL_R, "BTC/USD": BTC_R})
    return PortfolioView(**{**base, **kw})


def test_spot_entry_allowed_with_every_check_and_number():
    # conviction 5 -> 600 notional at 100 -> qty 6.0; stop 2 % -> 98.00; risk at stop 12.00
    plan = RiskEngine(RiskConfig(portfolio=PCFG), HYBRID, KILL).plan_entry(
        EntryRequest("SOL/USD", Side.BUY, 100.0, 5, SOL, cluster="l1"), hybrid_view())
    assert plan.allowed and plan.verdict.rule == "entry"
    assert plan.qty == pytest.approx(6.0) and plan.leverage == 1 and plan.margin_mode is None
    assert plan.stop.price == pytest.approx(98.0) and plan.size.risk_at_stop == pytest.approx(12.0)
    rules = [c.rule for c in plan.verdict.checks]
    assert rules == ["trading_state", "kill_switch", "loss_cooldown", "trade_frequency", "max_positions",
                     "daily_loss", "max_drawdown", "fleet_daily_loss", "fleet_max_drawdown", "sizing",
                     "cluster_exposure", "portfolio_var", "correlation"]
    assert all(c.allowed and c.numbers for c in plan.verdict.checks)
    assert plan.details()["size"]["conviction_notional"] == pytest.approx(600)


def test_var_rejection_with_positions_of_both_agents():
    # hybrid holds long BTC/USD 0.1 @ 50 000 = 5 000. Futures proposes long ETH at 2 500, conviction 10:
    # 5x capped leverage, 15 % -> M = 7 500; stop 3 % -> 2 425; risk 1.5 % = 150 / 0.03 = 5 000 -> qty 2.0 (5 000)
    # VaR (80 %, 10 obs): before 100 (BTC alone), after 240; limit 1 % of 20 000 = 200 -> rejected
    cfg = RiskConfig(sizing=SizingConfig(risk_per_trade_pct=1.5), portfolio=PCFG,
                     limits=LimitsConfig(max_cluster_exposure_pct=100))
    view = PortfolioView("futures", NOW, EquityView(10_000, 10_000, 10_000), EquityView(20_000, 20_000, 20_000),
                         positions=(HeldPosition("hybrid", "BTC/USD", 0.1, 50_000, "majors"),),
                         returns={"BTC/USD": BTC_R, "ETH/USDT:USDT": ETH_R})
    plan = RiskEngine(cfg, FUTURES, KILL).plan_entry(
        EntryRequest("ETH/USDT:USDT", Side.BUY, 2_500.0, 10, ETH_PERP, cluster="majors", atr=20.0), view)
    assert plan.size.qty == pytest.approx(2.0) and plan.leverage == 5 and plan.margin_mode == "isolated"
    assert not plan.allowed and plan.qty == 0
    v = plan.verdict
    assert v.rule == "portfolio_var"
    assert (v.numbers["var_before"], v.numbers["var_after"], v.numbers["var_limit"]) == pytest.approx((100, 240, 200))
    # the correlation rule also fired (rho(ETH, BTC) ~ 0.99 > 0.85) and names the hybrid agent's symbol
    corr = next(c for c in v.checks if c.rule == "correlation")
    assert not corr.allowed and corr.numbers["with_symbol"] == "BTC/USD"


def test_futures_entry_allowed_with_stop_between_entry_and_liquidation():
    # short ETH 2 500 at 5x: liq = 2 500 * 1.2 / 1.005 = 2 985.07; distance 485.07 >= 3 x ATR 20 = 60
    # stop 3 % above = 2 575.00; funding -0.01 % (shorts receive nothing extreme) -> allowed
    view = PortfolioView("futures", NOW, EquityView(10_000, 10_000, 10_000), EquityView(20_000, 20_000, 20_000),
                         returns={"ETH/USDT:USDT": ETH_R})
    plan = RiskEngine(RiskConfig(portfolio=PCFG.model_copy(update={"max_var_pct": 50.0})), FUTURES, KILL).plan_entry(
        EntryRequest("ETH/USDT:USDT", Side.SELL, 2_500.0, 10, ETH_PERP, "majors", atr=20.0, funding_rate=-0.0001), view)
    assert plan.allowed, plan.verdict.reason
    assert plan.stop.price == pytest.approx(2_575.0)
    assert plan.stop.liquidation_price == pytest.approx(2_985.0746, abs=1e-4)
    assert plan.stop.liquidation_price > plan.stop.price > 2_500


def test_funding_rejection_through_the_engine():
    view = PortfolioView("futures", NOW, EquityView(10_000, 10_000, 10_000), EquityView(20_000, 20_000, 20_000),
                         returns={"ETH/USDT:USDT": ETH_R})
    v = RiskEngine(RiskConfig(portfolio=PCFG), FUTURES, KILL).check_entry(
        EntryRequest("ETH/USDT:USDT", Side.BUY, 2_500.0, 10, ETH_PERP, atr=20.0, funding_rate=0.001), view)
    assert not v.allowed and v.rule == "funding" and v.numbers["funding_rate_pct"] == pytest.approx(0.1)


def test_spot_is_long_only():
    v = RiskEngine(RiskConfig(portfolio=PCFG), HYBRID, KILL).check_entry(
        EntryRequest("SOL/USD", Side.SELL, 100.0, 5, SOL), hybrid_view())
    assert not v.allowed and v.rule == "long_only"


def test_cooldown_through_the_engine_uses_the_view_clock():
    # three losses, the last closed 20 minutes before `now` -> 40 minutes of cooldown left
    trades = tuple(ClosedTrade("SOL/USD", -10.0, NOW - timedelta(minutes=m)) for m in (60, 40, 20))
    v = RiskEngine(RiskConfig(portfolio=PCFG), HYBRID, KILL).check_entry(
        EntryRequest("SOL/USD", Side.BUY, 100.0, 5, SOL), hybrid_view(closed_trades=trades))
    assert not v.allowed and v.rule == "loss_cooldown" and v.numbers["minutes_left"] == pytest.approx(40)


def test_every_rejection_has_rule_reason_and_numbers():
    # a view that breaks many rules at once: 3 open positions, 8 trades today, a 5 % daily loss
    pos = tuple(HeldPosition("hybrid", s, 1.0, 100.0, "l1") for s in ("A/USD", "B/USD", "C/USD"))
    view = hybrid_view(account=EquityView(9_500, 10_000, 10_000), positions=pos, trades_today=8)
    v = RiskEngine(RiskConfig(portfolio=PCFG), HYBRID, KILL).check_entry(EntryRequest("SOL/USD", Side.BUY, 100.0, 5, SOL),
                                                                         view)
    rejected = [c for c in v.checks if not c.allowed]
    assert {c.rule for c in rejected} >= {"trades_per_day", "max_positions_agent", "daily_loss"}
    assert all(c.reason and c.numbers for c in rejected)
    assert v.rule == "trades_per_day"  # the first rejection in rule order is the verdict


def test_config_is_strict_frozen_and_validated():
    with pytest.raises(ValidationError):
        RiskConfig(limits={"max_trades_per_dya": 5})  # typo -> extra="forbid"
    with pytest.raises(ValidationError):
        LimitsConfig(max_trades_per_day=0)
    with pytest.raises(ValidationError):
        BucketConfig(low=0.8, normal=0.5)
    cfg = RiskConfig()
    with pytest.raises(ValidationError):
        cfg.limits.max_trades_per_day = 3  # frozen
    assert cfg.limits.max_trades_per_day == 8 and cfg.kelly.min_trades == 20
    assert cfg.kill_switch_file(Path("/srv/tracer")) == Path("/srv/tracer/run/KILL_SWITCH")


def test_risk_config_from_settings_reads_tb_names():
    from types import SimpleNamespace

    from shared.risk.config import ENV_SETTINGS, risk_config_from_settings

    s = SimpleNamespace(max_trades_per_day=5, daily_loss_limit_pct=2.5, on_max_drawdown="REDUCING", max_leverage=3,
                        kill_switch_path=Path("/tmp/k"), unrelated="x")
    cfg = risk_config_from_settings(s)
    assert cfg.limits.max_trades_per_day == 5 and cfg.limits.daily_loss_limit_pct == 2.5
    assert cfg.state.on_max_drawdown == "REDUCING" and cfg.futures.max_leverage == 3
    assert cfg.state.kill_switch_path == Path("/tmp/k") and cfg.kelly.min_trades == 20  # untouched default
    with pytest.raises(ValidationError):
        risk_config_from_settings(SimpleNamespace(max_trades_per_day=0))
    # every mapped field exists in the model
    for section, name in ENV_SETTINGS.values():
        assert name in type(getattr(RiskConfig(), section)).model_fields
