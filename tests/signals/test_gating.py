"""Gating: each rule of the default table, the reasons, and profile overrides."""
from __future__ import annotations

from enum import Enum

import pytest
from pydantic import ValidationError

from shared.signals.gating import DEFAULT_GATING, GatingConfig, gate

ALL = ("momentum", "mean_reversion", "breakout", "vwap_reversion", "short_momentum")


def g(regime="BULL_TREND", volatility="NORMAL", drawdown=0.0, market="futures", config=DEFAULT_GATING, **kw):
    return gate(ALL, regime=regime, volatility=volatility, drawdown_pct=drawdown, market=market, config=config, **kw)


def test_bull_trend_allows_momentum_and_breakout():
    d = g("BULL_TREND")
    assert d.allowed == ("momentum", "breakout")
    assert set(d.blocked) == {"mean_reversion", "vwap_reversion", "short_momentum"}
    assert "not allowed in BULL_TREND" in d.blocked["mean_reversion"]


def test_bear_trend_allows_short_momentum_on_futures_and_nothing_on_spot():
    assert g("BEAR_TREND", market="futures").allowed == ("short_momentum",)
    spot = g("BEAR_TREND", market="spot")
    assert spot.allowed == ()
    assert "long-only" in spot.blocked["short_momentum"]
    assert "none (WAIT)" in spot.reason


@pytest.mark.parametrize("regime", ["SIDEWAYS_LOW_VOL", "SIDEWAYS_HIGH_VOL"])
def test_sideways_allows_the_reversion_strategies(regime):
    assert g(regime).allowed == ("mean_reversion", "vwap_reversion")


def test_transition_allows_nothing():
    d = g("TRANSITION")
    assert d.allowed == () and set(d.blocked) == set(ALL)
    assert all("TRANSITION" in r for r in d.blocked.values())


def test_low_volatility_blocks_breakout():
    d = g("BULL_TREND", volatility="LOW")
    assert d.allowed == ("momentum",)
    assert "LOW volatility" in d.blocked["breakout"]
    assert g("BULL_TREND", volatility="HIGH").allowed == ("momentum", "breakout")


def test_drawdown_beyond_hard_limit_blocks_everything_with_every_reason():
    assert g("BULL_TREND", drawdown=9.99).allowed == ("momentum", "breakout")
    d = g("BULL_TREND", drawdown=10.0)
    assert d.allowed == () and set(d.blocked) == set(ALL)
    assert "hard limit 10%" in d.blocked["momentum"]
    # A strategy blocked for several reasons lists them all.
    assert "hard limit" in d.blocked["mean_reversion"] and "not allowed in BULL_TREND" in d.blocked["mean_reversion"]
    assert g("BULL_TREND", drawdown=-12.0).allowed == ()  # sign ignored
    assert g("BULL_TREND", drawdown=12.0, max_drawdown_pct=15).allowed == ("momentum", "breakout")


def test_only_the_profiles_strategies_are_considered_in_their_order():
    d = gate(["breakout", "momentum", "breakout"], regime="BULL_TREND", volatility="NORMAL", drawdown_pct=0,
             market="spot")
    assert d.allowed == ("breakout", "momentum") and dict(d.blocked) == {}


def test_profile_overrides_rows_not_the_table():
    cfg = GatingConfig(regimes={"BULL_TREND": ["momentum"]}, volatility_blocks={"LOW": []}, max_drawdown_pct=20)
    assert g("BULL_TREND", config=cfg).allowed == ("momentum",)
    assert g("SIDEWAYS_LOW_VOL", config=cfg).allowed == ("mean_reversion", "vwap_reversion")  # untouched row
    assert g("SIDEWAYS_LOW_VOL", volatility="LOW", config=cfg).allowed == ("mean_reversion", "vwap_reversion")
    assert g("BULL_TREND", drawdown=15, config=cfg).allowed == ("momentum",)
    assert GatingConfig().regimes["BULL_TREND"] == ("momentum", "breakout")  # the default did not change


def test_config_rejects_unknown_regime_strategy_and_key():
    with pytest.raises(ValidationError, match="unknown regime"):
        GatingConfig(regimes={"BULL": ["momentum"]})
    with pytest.raises(ValidationError, match="unknown strategy momentun"):
        GatingConfig(regimes={"BULL_TREND": ["momentun"]})
    with pytest.raises(ValidationError, match="unknown volatility"):
        GatingConfig(volatility_blocks={"EXTREME": ["breakout"]})
    with pytest.raises(ValidationError):
        GatingConfig(max_drawdown=5)


def test_enum_inputs_and_bad_values():
    class Regime(str, Enum):
        BULL_TREND = "BULL_TREND"

    assert gate(["momentum"], regime=Regime.BULL_TREND, volatility="NORMAL", drawdown_pct=0,
                market="futures").allowed == ("momentum",)
    with pytest.raises(ValueError, match="regime"):
        g("SIDEWAYS")
    with pytest.raises(ValueError, match="volatility"):
        g(volatility="MEDIUM")
    with pytest.raises(ValueError, match="market"):
        g(market="margin")
