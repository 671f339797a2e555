"""Fleet VaR (historical + parametric) and the correlation limit across both agents, with hand-worked numbers."""
from __future__ import annotations

import math

import pytest

from shared.risk.config import PortfolioRiskConfig
from shared.risk.var import check_correlation, check_var, correlation, portfolio_var

# 10 aligned period returns
BTC = [0.01, -0.02, 0.015, -0.03, 0.005, 0.02, -0.01, 0.0, 0.025, -0.015]
ETH = [0.012, -0.028, 0.02, -0.045, 0.01, 0.03, -0.012, -0.002, 0.035, -0.02]
CFG = PortfolioRiskConfig(var_confidence=0.8, max_var_pct=1.0, horizon_periods=1, min_observations=10)


def test_two_correlated_positions_from_two_agents():
    # hybrid long BTC/USD 0.1 @ 50 000 = 5 000; futures long ETH/USDT:USDT 2 @ 2 500 = 5 000
    # PnL_t = 5 000 * (btc + eth) = 110, -240, 175, -375, 75, 250, -110, -10, 300, -175
    # sorted: -375, -240, -175, ...; k = floor((1 - 0.8) * 9) = 1 -> -240 -> historical VaR 240
    # parametric: mean PnL = 0; sum of squares = 441 900; var = 441 900 / 9 = 49 100; sigma = 221.585
    #             z(0.8) = 0.841621 -> 0.841621 * 221.585 = 186.49
    r = portfolio_var({"BTC/USD": 5_000.0, "ETH/USDT:USDT": 5_000.0}, {"BTC/USD": BTC, "ETH/USDT:USDT": ETH}, 0.8)
    assert r.historical == pytest.approx(240.0)
    assert r.parametric == pytest.approx(0.841621 * math.sqrt(49_100), rel=1e-5)
    assert r.parametric == pytest.approx(186.49, abs=0.01)
    assert r.observations == 10


def test_entry_that_breaches_var_is_rejected_with_before_after_and_limit():
    # hybrid holds BTC 5 000; futures proposes long ETH 5 000
    # before: PnL = 5 000 * btc = 50, -100, 75, -150, ... sorted -150, -100, ... -> k = 1 -> VaR 100
    # after: 240 (above); limit = 1 % of fleet equity 20 000 = 200 -> 240 > 200 and 240 > 100 -> reject
    v = check_var({"BTC/USD": 5_000.0}, "ETH/USDT:USDT", 5_000.0, 20_000.0,
                  {"BTC/USD": BTC, "ETH/USDT:USDT": ETH}, CFG)
    assert not v.allowed and v.rule == "portfolio_var"
    assert v.numbers["var_before"] == pytest.approx(100.0)
    assert v.numbers["var_after"] == pytest.approx(240.0)
    assert v.numbers["var_limit"] == pytest.approx(200.0)
    # both methods are reported; parametric before: sum sq = 75 000, /9 = 8 333.3, sigma 91.287 -> 76.83
    assert v.numbers["param_var_before"] == pytest.approx(76.83, abs=0.01)
    assert v.numbers["param_var_after"] == pytest.approx(186.49, abs=0.01)
    assert "100.00 -> 240.00 vs limit 200.00" in v.reason


def test_hedge_that_lowers_var_is_allowed_even_above_the_limit():
    # held BTC 5 000 + ETH 5 000 (VaR 240 > limit 200); short ETH 2 500 lowers it:
    # exposures BTC 5 000, ETH 2 500: PnL = 50+30, -100-70, 75+50, -150-112.5, 25+25, 100+75, -50-30, 0-5, 125+87.5,
    # -75-50 = 80, -170, 125, -262.5, 50, 175, -80, -5, 212.5, -125 -> sorted -262.5, -170 -> VaR 170 < 240
    v = check_var({"BTC/USD": 5_000.0, "ETH/USDT:USDT": 5_000.0}, "ETH/USDT:USDT", -2_500.0, 20_000.0,
                  {"BTC/USD": BTC, "ETH/USDT:USDT": ETH}, CFG)
    assert v.allowed and v.numbers["var_before"] == pytest.approx(240) and v.numbers["var_after"] == pytest.approx(170)


def test_horizon_scaling_and_method_max():
    # horizon 4 periods: sqrt(4) = 2 -> historical 480, parametric 372.98; method max -> 480
    r = portfolio_var({"BTC/USD": 5_000.0, "ETH/USDT:USDT": 5_000.0}, {"BTC/USD": BTC, "ETH/USDT:USDT": ETH}, 0.8, 4)
    assert r.historical == pytest.approx(480.0) and r.value("max") == pytest.approx(480.0)
    assert r.value("parametric") == pytest.approx(372.98, abs=0.02)


def test_missing_returns_reject_or_allow_by_config():
    v = check_var({"BTC/USD": 5_000.0}, "SOL/USD", 1_000.0, 20_000.0, {"BTC/USD": BTC}, CFG)
    assert not v.allowed and v.numbers["missing"] == "SOL/USD"
    v = check_var({"BTC/USD": 5_000.0}, "SOL/USD", 1_000.0, 20_000.0, {"BTC/USD": BTC},
                  CFG.model_copy(update={"on_missing_returns": "allow"}))
    assert v.allowed and "not checked" in v.reason


# Correlation: A = 1, -1, 2, -2 (%), B = 2 x A (rho = 1), C = 1, 1, -1, -1 (%), E = 1, -1, 1, -1 (%)
A = [0.01, -0.01, 0.02, -0.02]
B = [0.02, -0.02, 0.04, -0.04]
C = [0.01, 0.01, -0.01, -0.01]
E = [0.01, -0.01, 0.01, -0.01]
RET = {"BTC/USD": A, "ETH/USDT:USDT": B, "DOGE/USDT:USDT": C, "XRP/USD": E}
CCFG = PortfolioRiskConfig(min_observations=4, max_correlation=0.85)


def test_correlation_worked_numbers():
    # A and C: means 0; sum A*C = 1 - 1 - 2 + 2 = 0 (x1e-4) -> rho = 0
    # A and E: sum A*E = 1 + 1 + 2 + 2 = 6; sum A^2 = 10; sum E^2 = 4 -> rho = 6 / sqrt(40) = 0.948683
    assert correlation(A, B) == pytest.approx(1.0)
    assert correlation(A, C) == pytest.approx(0.0, abs=1e-12)
    assert correlation(A, E) == pytest.approx(6 / math.sqrt(40))


def test_correlation_limit_across_agents_names_the_held_symbol():
    # hybrid long BTC (A), futures long DOGE (C); futures proposes long ETH (B): rho(B, A) = 1 > 0.85 -> reject
    held = [("BTC/USD", 1), ("DOGE/USDT:USDT", 1)]
    v = check_correlation(held, "ETH/USDT:USDT", 1, RET, CCFG)
    assert not v.allowed and v.rule == "correlation"
    assert v.numbers["with_symbol"] == "BTC/USD" and v.numbers["max_correlation_found"] == pytest.approx(1.0)
    assert "with held BTC/USD" in v.reason


def test_short_against_a_correlated_long_is_a_hedge():
    # short ETH vs long BTC: 1 * (-1) * (+1) = -1; vs long DOGE: 0 -> max 0 -> allowed
    v = check_correlation([("BTC/USD", 1), ("DOGE/USDT:USDT", 1)], "ETH/USDT:USDT", -1, RET, CCFG)
    assert v.allowed and v.numbers["max_correlation_found"] == pytest.approx(0.0, abs=1e-12)


def test_partial_correlation_against_the_limit():
    # XRP (E) vs held long BTC (A): 0.9487 -> above 0.9 rejected, below 0.95 allowed
    held = [("BTC/USD", 1)]
    assert not check_correlation(held, "XRP/USD", 1, RET, CCFG.model_copy(update={"max_correlation": 0.9})).allowed
    assert check_correlation(held, "XRP/USD", 1, RET, CCFG.model_copy(update={"max_correlation": 0.95})).allowed
