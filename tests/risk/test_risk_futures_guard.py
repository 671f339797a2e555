"""Futures guards with worked numbers: leverage cap, isolated margin, K x ATR to liquidation, funding filter,
protective stop between entry and liquidation."""
from __future__ import annotations

import pytest

from shared.execution.models import Side
from shared.risk.config import FuturesConfig
from shared.risk.futures_guard import (cap_leverage, check_funding, check_liquidation_distance, check_margin_mode,
                                       entry_liquidation_price, max_leverage_for_distance, protective_stop_price)

MMR = 0.005


def test_leverage_capped_by_config_and_venue_bracket():
    assert cap_leverage(10, 5, 20)[0] == 5  # config max
    assert cap_leverage(10, 20, 8)[0] == 8  # venue bracket
    assert cap_leverage(3, 5, 20) == (3, "requested 3x")
    assert cap_leverage(0, 5, 20)[0] == 1


def test_only_isolated_margin():
    assert check_margin_mode("isolated").allowed
    v = check_margin_mode("cross")
    assert not v.allowed and v.rule == "margin_mode"


def test_liquidation_price_matches_accounting():
    # long 5x: 2 000 * (1 - 1/5) / (1 - 0.005) = 1 600 / 0.995 = 1 608.0402
    assert entry_liquidation_price(Side.BUY, 2_000, 5, MMR) == pytest.approx(1_608.0402, abs=1e-4)
    # short 5x: 2 000 * (1 + 1/5) / (1 + 0.005) = 2 400 / 1.005 = 2 388.0597
    assert entry_liquidation_price(Side.SELL, 2_000, 5, MMR) == pytest.approx(2_388.0597, abs=1e-4)


def test_liquidation_distance_against_k_atr():
    # long 5x: distance 2 000 - 1 608.0402 = 391.96; ATR 100, K 3 -> need 300 -> ok
    v = check_liquidation_distance(Side.BUY, 2_000, 5, MMR, atr=100, k_atr=3)
    assert v.allowed and v.numbers["distance"] == pytest.approx(391.9598, abs=1e-4)
    # ATR 150 -> need 450 > 391.96 -> reject
    # max safe leverage: x = 450 / 2 000 = 0.225; 1 / (1 - 0.995 * 0.775) = 1 / 0.228875 = 4.37 -> 4x
    # check 4x: liq = 2 000 * 0.75 / 0.995 = 1 507.54, distance 492.46 >= 450
    v = check_liquidation_distance(Side.BUY, 2_000, 5, MMR, atr=150, k_atr=3)
    assert not v.allowed and v.rule == "liquidation_distance"
    assert v.numbers["required_distance"] == 450 and v.numbers["max_leverage_for_distance"] == 4
    assert check_liquidation_distance(Side.BUY, 2_000, 4, MMR, atr=150, k_atr=3).allowed
    # short 5x: distance 388.06 < 450 -> reject
    assert not check_liquidation_distance(Side.SELL, 2_000, 5, MMR, atr=150, k_atr=3).allowed
    # no ATR -> reject (cannot prove the distance)
    assert not check_liquidation_distance(Side.BUY, 2_000, 5, MMR, atr=None, k_atr=3).allowed


def test_max_leverage_for_distance_short():
    # short: x = 0.1; (1.005)(1.1) - 1 = 0.1055 -> 1 / 0.1055 = 9.48 -> 9x
    assert max_leverage_for_distance(Side.SELL, 2_000, MMR, 200) == 9


def test_funding_filter_rejects_only_the_side_that_pays():
    # limit 0.05 %; rate +0.06 %: longs pay -> reject long, short receives -> ok
    v = check_funding(Side.BUY, 0.0006, 0.05)
    assert not v.allowed and v.rule == "funding" and v.numbers["funding_rate_pct"] == pytest.approx(0.06)
    assert check_funding(Side.SELL, 0.0006, 0.05).allowed
    # rate -0.06 %: shorts pay -> reject short, long ok
    assert not check_funding(Side.SELL, -0.0006, 0.05).allowed
    assert check_funding(Side.BUY, -0.0006, 0.05).allowed
    # ordinary +0.04 % -> both ok; unknown -> ok
    assert check_funding(Side.BUY, 0.0004, 0.05).allowed and check_funding(Side.BUY, None, 0.05).allowed


def test_stop_methods():
    cfg = FuturesConfig()
    liq = entry_liquidation_price(Side.BUY, 2_000, 5, MMR)
    # pct: 2 000 * (1 - 0.03) = 1 940.0
    s = protective_stop_price(Side.BUY, 2_000, 0.1, 3.0, atr=100, liquidation=liq, cfg=cfg)
    assert s.price == pytest.approx(1_940.0) and s.distance_pct == pytest.approx(3.0) and s.method == "pct"
    # atr: 2 000 - 2 x 100 = 1 800 (liq 1 608.04 is below it)
    s = protective_stop_price(Side.BUY, 2_000, 0.1, 3.0, 100, liq, cfg.model_copy(update={"stop_method": "atr"}))
    assert s.price == pytest.approx(1_800.0)
    # tighter: max(1 940, 1 800) = 1 940 for a long
    s = protective_stop_price(Side.BUY, 2_000, 0.1, 3.0, 100, liq, cfg.model_copy(update={"stop_method": "tighter"}))
    assert s.price == pytest.approx(1_940.0) and s.method == "tighter:pct"
    # short pct: 2 000 * 1.03 = 2 060
    s = protective_stop_price(Side.SELL, 2_000, 0.1, 3.0, 100, entry_liquidation_price(Side.SELL, 2_000, 5, MMR), cfg)
    assert s.price == pytest.approx(2_060.0)


def test_stop_rounded_to_tick():
    # 2 000.03 * 0.97 = 1 940.0291 -> tick 0.5 -> 1 940.0
    s = protective_stop_price(Side.BUY, 2_000.03, 0.5, 3.0, None, None, FuturesConfig())
    assert s.price == 1_940.0


def test_stop_past_liquidation_moves_inside():
    # long 50x: liq = 2 000 * 0.98 / 0.995 = 1 969.8492; pct stop 1 940 lies past it
    # inside = 1 969.8492 + 0.2 * (2 000 - 1 969.8492) = 1 975.8794 -> up to tick 0.1 -> 1 975.9
    liq = entry_liquidation_price(Side.BUY, 2_000, 50, MMR)
    s = protective_stop_price(Side.BUY, 2_000, 0.1, 3.0, None, liq, FuturesConfig())
    assert liq == pytest.approx(1_969.8492, abs=1e-4)
    assert s.price == pytest.approx(1_975.9) and liq < s.price < 2_000
    assert "past liquidation" in s.reason
    # short 50x: liq = 2 000 * 1.02 / 1.005 = 2 029.8507; pct stop 2 060 past it
    # inside = 2 029.8507 - 0.2 * 29.8507 = 2 023.8806 -> down to tick -> 2 023.8
    liq = entry_liquidation_price(Side.SELL, 2_000, 50, MMR)
    s = protective_stop_price(Side.SELL, 2_000, 0.1, 3.0, None, liq, FuturesConfig())
    assert s.price == pytest.approx(2_023.8) and 2_000 < s.price < liq


def test_no_stop_fits_when_liquidation_is_within_a_tick():
    # liquidation 1 999.95, tick 0.1: nothing strictly between 1 999.95 and 2 000 on the tick grid
    s = protective_stop_price(Side.BUY, 2_000, 0.1, 3.0, None, 1_999.95, FuturesConfig())
    assert s.price is None and "no stop fits" in s.reason
