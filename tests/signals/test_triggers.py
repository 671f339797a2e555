"""Trigger scan (each trigger, ranking, cap) and the universe filter (tiers, liquidity, clusters)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from pydantic import ValidationError

from shared.config.errors import ConfigError
from shared.market.candles import Candles
from shared.signals.triggers import TriggerScanConfig, detect, scan
from shared.signals.universe_filter import (LiquiditySnapshot, UniverseFilterConfig, filter_universe, quote_volume_24h,
                                            validate_universe)

HOUR = 3600
T0 = 1_700_006_400


def candles(close, *, open_=None, high=None, low=None, volume=None, symbol="X/USDT") -> Candles:
    c = np.asarray(close, dtype=np.float64)
    o = np.r_[c[0], c[:-1]] if open_ is None else np.asarray(open_, dtype=np.float64)
    h = np.maximum(o, c) + 0.3 if high is None else np.asarray(high, dtype=np.float64)
    lo = np.minimum(o, c) - 0.3 if low is None else np.asarray(low, dtype=np.float64)
    v = np.full_like(c, 100.0) if volume is None else np.asarray(volume, dtype=np.float64)
    t = T0 + HOUR * np.arange(len(c), dtype=np.int64)
    return Candles(symbol, "1h", t, o, h, lo, c, v)


QUIET = [100 + (0.1 if i % 2 else -0.1) for i in range(40)]  # 24h range 99.6 .. 100.4


def flat() -> Candles:
    return candles(QUIET)


def spike() -> Candles:
    # Last candle: 5x volume, body 0.2 of a 0.3 range, inside the 24h range.
    c = candles(QUIET[:-1] + [100.2], volume=[100.0] * 39 + [500.0])
    h, lo = c.high.copy(), c.low.copy()
    h[-1], lo[-1] = 100.25, 99.95
    o = c.open.copy()
    o[-1] = 100.0
    return candles(c.close, open_=o, high=h, low=lo, volume=c.volume)


def breakout() -> Candles:
    return candles(QUIET[:-1] + [101.0], volume=[100.0] * 39 + [200.0])  # 0.6% over the 24h high, 2x volume


def momentum() -> Candles:
    return candles(QUIET[:28] + [100.1 + 0.25 * (i + 1) for i in range(12)])  # +3% in a straight line


def v_bottom() -> Candles:
    path = [99.0, 98.0, 97.0, 96.5, 96.0, 96.5, 97.0, 97.5, 98.0, 98.5, 99.0, 99.2]
    return candles(QUIET[:28] + path)


def v_top() -> Candles:
    return candles([200.0 - x for x in v_bottom().close])


def kinds(c: Candles) -> dict[str, int]:
    return {t.kind: t.direction for t in detect(c)}


def test_quiet_market_triggers_nothing():
    assert detect(flat()) == ()
    assert detect(candles(QUIET[:10])) == ()  # too short to judge


def test_volume_spike():
    t = detect(spike())
    assert [x.kind for x in t] == ["volume_spike"]
    assert t[0].direction == 1 and t[0].strength == pytest.approx(5 / 3)
    assert t[0].confidence == pytest.approx(0.25 + 0.75 * 0.2 / 0.3)


def test_range_breakout_with_volume_confidence():
    t = detect(breakout())
    assert [x.kind for x in t] == ["range_breakout"]
    assert t[0].direction == 1 and t[0].strength == 3.0 and t[0].confidence == pytest.approx(1.0)
    down = detect(candles(QUIET[:-1] + [99.0]))
    assert down[0].kind == "range_breakout" and down[0].direction == -1 and down[0].confidence == pytest.approx(0.5)


def test_momentum_move_confidence_is_path_efficiency():
    t = {x.kind: x for x in detect(momentum())}
    assert t["momentum_move"].direction == 1 and t["momentum_move"].confidence == pytest.approx(1.0)
    choppy = QUIET[:28] + [100.1 + 0.25 * (i + 1) + (1.0 if i % 2 else 0.0) for i in range(11)] + [103.1]
    t2 = {x.kind: x for x in detect(candles(choppy))}
    assert 0 < t2["momentum_move"].confidence < 0.6


def test_v_reversal_both_ways():
    assert kinds(v_bottom()).get("v_reversal") == 1
    assert kinds(v_top()).get("v_reversal") == -1
    t = {x.kind: x for x in detect(v_bottom())}["v_reversal"]
    assert t.metrics["recovery"] >= 0.6 and t.metrics["swing_pct"] >= 3.0
    # Still at the low (no recovery yet): not a V.
    assert "v_reversal" not in kinds(candles(QUIET[:28] + [99.0, 98.0, 97.0, 96.5, 96.0, 95.5, 95.0, 94.5, 94.0,
                                                           93.5, 93.0, 92.5]))


def test_scan_ranks_by_strength_times_confidence_and_caps():
    # Names chosen so alphabetical order is the reverse of score order.
    universe = {"A_FLAT": flat(), "B_V": v_bottom(), "C_SPIKE": spike(), "D_MOM": momentum(), "E_BRK": breakout()}
    res = scan(universe, TriggerScanConfig(max_candidates=2))
    # BRK 3.0 x 1.0, MOM 1.5 x 1.0, SPIKE 1.67 x 0.75, V 1.47 x 0.8; FLAT never triggers.
    assert [c.symbol for c in res.candidates] == ["E_BRK", "D_MOM", "C_SPIKE", "B_V"]
    assert [round(c.score, 2) for c in res.candidates] == [3.0, 1.5, 1.25, 1.17]
    assert res.selected == ("E_BRK", "D_MOM") and res.capped == ("C_SPIKE", "B_V")
    assert scan(universe, TriggerScanConfig(max_candidates=10)).selected == ("E_BRK", "D_MOM", "C_SPIKE", "B_V")


def test_scan_open_positions_are_always_evaluated_outside_the_cap():
    universe = {"FLAT": flat(), "SPIKE": spike(), "BRK": breakout(), "MOM": momentum()}
    res = scan(universe, TriggerScanConfig(max_candidates=1), always=["FLAT", "MOM"])
    assert res.selected == ("FLAT", "MOM", "BRK") and res.forced == ("FLAT", "MOM") and res.capped == ("SPIKE",)
    # A held symbol that also triggers is not counted twice and does not use a slot.
    assert scan(universe, TriggerScanConfig(max_candidates=1), always=["BRK"]).selected == ("BRK", "MOM")


def test_scan_min_score_skips_warmup_and_disabled_triggers():
    universe = {"BRK": breakout(), "SPIKE": spike(), "NEW": candles(QUIET[:10])}
    res = scan(universe, TriggerScanConfig(min_score=2.0))
    assert res.selected == ("BRK",) and res.capped == ("SPIKE",) and "warming up" in res.skipped["NEW"]
    off = TriggerScanConfig(range_breakout={"enabled": False})
    assert scan({"BRK": breakout()}, off).candidates == ()


def test_scan_ties_rank_by_symbol():
    res = scan({"B": breakout(), "A": breakout()}, TriggerScanConfig(max_candidates=1))
    assert res.selected == ("A",)


def test_scan_config_validation():
    with pytest.raises(ValidationError):
        TriggerScanConfig(max_candidates=0)
    with pytest.raises(ValidationError):
        TriggerScanConfig(volume_spike={"ratio": 3})


# -- universe filter -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Spec:
    tier: int
    cluster: str


SPECS = {"BTC": Spec(1, "majors"), "SOL": Spec(2, "l1"), "DOGE": Spec(3, "meme"), "PEPE": Spec(3, "meme")}


def test_filter_liquidity_per_tier_and_unknown_is_not_fail():
    liq = {
        "BTC": LiquiditySnapshot(quote_volume_24h=2e9, spread_pct=0.01, depth_quote=None),  # depth unknown
        "SOL": LiquiditySnapshot(quote_volume_24h=5e6, spread_pct=0.05),  # under tier 2's 10M
        "DOGE": LiquiditySnapshot(quote_volume_24h=3e6, spread_pct=0.6),  # spread too wide for tier 3
    }  # PEPE: venue says nothing -> unknown, eligible
    view = filter_universe(SPECS, liq, UniverseFilterConfig())
    assert view.eligible == ("BTC", "PEPE")
    assert view.decisions["BTC"].unknown == ("depth",)
    assert "24h quote volume" in view.decisions["SOL"].reason and "tier 2" in view.decisions["SOL"].reason
    assert "spread" in view.decisions["DOGE"].reason
    assert set(view.decisions["PEPE"].unknown) == {"24h quote volume", "spread %", "depth"}
    assert view.clusters == {"majors": ("BTC",), "l1": ("SOL",), "meme": ("DOGE", "PEPE")}


def test_filter_trade_tiers_and_custom_limits():
    cfg = UniverseFilterConfig(trade_tiers=(1, 2), tiers={1: {"min_quote_volume_24h": 1e9}, 2: {}})
    view = filter_universe(SPECS, {"BTC": LiquiditySnapshot(quote_volume_24h=5e8)}, cfg)
    assert view.eligible == ("SOL",)  # BTC under its custom minimum, tier 2 has no limits, tier 3 not traded
    assert "not in trade_tiers" in view.decisions["DOGE"].reason
    with pytest.raises(ValidationError, match="no limits"):
        UniverseFilterConfig(trade_tiers=(1, 4))


def test_validate_universe_names_the_bad_setting():
    validate_universe(SPECS, UniverseFilterConfig())
    with pytest.raises(ConfigError) as e:
        validate_universe({"X": Spec(1, "memes")}, UniverseFilterConfig(), setting="universe.futures")
    assert e.value.setting == "universe.futures.symbols.X.cluster" and "meme" in e.value.allowed
    with pytest.raises(ConfigError):
        validate_universe({"X": Spec(7, "meme")}, UniverseFilterConfig())


def test_quote_volume_24h_from_candles():
    c = candles([10.0] * 30, volume=[2.0] * 30)
    assert quote_volume_24h(c) == pytest.approx(24 * 10.0 * 2.0)
    assert quote_volume_24h(candles([10.0] * 20)) is None  # less than a day of data: unknown
    assert quote_volume_24h(c, now_epoch=float(T0 + 25 * HOUR)) == pytest.approx(24 * 20.0)
