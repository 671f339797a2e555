"""The exit rules as a pure function of (position state, candle, rules), with worked numbers (docs/risk.md, Exits)."""
from __future__ import annotations

import pytest

from shared.execution.exits import Bar, ExitRules, PositionState, evaluate_exit

H = 3600.0
T = 1_000_000.0
# entry 100, stop 3 % -> 97; tiers 33 % at +2 %, 33 % at +4 %, 34 % at +6 %; trailing 2 % once +2 % was reached
RULES = ExitRules(stop_loss_pct=3.0, take_profit=((2, 0.33), (4, 0.33), (6, 0.34)), trailing_stop_pct=2.0,
                  trailing_activation_pct=2.0, time_exit_minutes=240, cooldown_minutes=60)
LONG = PositionState.opened(+1, 100.0, 10.0, T)
SHORT = PositionState.opened(-1, 100.0, 10.0, T)


def bar(i: int, o: float, h: float, lo: float, c: float) -> Bar:
    return Bar(T + i * H, T + (i + 1) * H, o, h, lo, c)


def test_tiered_take_profit_then_trailing_stop_worked_numbers():
    # candle 1: high 102.5 reaches tier 1 (102.00): close round(10 x 0.33, lot 0.001) = 3.3 at 102.00
    d1 = evaluate_exit(LONG, bar(0, 100.5, 102.5, 100.0, 102.0), RULES, lot_step=0.001)
    assert (d1.rule, d1.qty, d1.price) == ("take_profit", pytest.approx(3.3), pytest.approx(102.0))
    assert d1.state.tp_tiers_done == 1 and d1.state.high_watermark == 102.5 and not d1.full
    s = PositionState(**{**d1.state.__dict__, "qty": 6.7})
    # candle 2: the trail (102.5 x 0.98 = 100.45) is below the low 101.9; high 104.2 reaches tier 2 (104.00): 3.3 more
    d2 = evaluate_exit(s, bar(1, 102.0, 104.2, 101.9, 104.0), RULES, lot_step=0.001)
    assert (d2.rule, d2.qty, d2.price) == ("take_profit", pytest.approx(3.3), pytest.approx(104.0))
    s = PositionState(**{**d2.state.__dict__, "qty": 3.4})
    # candle 3: trail = watermark 104.2 x 0.98 = 102.116; low 102.0 reaches it -> the rest (3.4) exits at 102.116
    d3 = evaluate_exit(s, bar(2, 104.0, 104.5, 102.0, 102.2), RULES, lot_step=0.001)
    assert (d3.rule, d3.qty, d3.price) == ("trailing_stop", pytest.approx(3.4), pytest.approx(102.116))
    assert d3.full and d3.numbers["watermark"] == 104.2


def test_stop_loss_at_the_stop_or_at_a_gapped_open():
    d = evaluate_exit(LONG, bar(0, 99.0, 99.5, 96.5, 98.0), RULES)
    assert (d.rule, d.qty, d.price) == ("stop_loss", 10.0, pytest.approx(97.0)) and d.full
    gap = evaluate_exit(LONG, bar(0, 95.0, 96.0, 94.0, 95.5), RULES)
    assert gap.rule == "stop_loss" and gap.price == 95.0  # opened below the stop: filled at the open
    # the venue's stop level, when known, is the one used
    placed = PositionState.opened(+1, 100.0, 10.0, T, stop_price=98.5)
    assert evaluate_exit(placed, bar(0, 99.0, 99.5, 98.4, 99.0), RULES).price == pytest.approx(98.5)


def test_bad_news_first_when_one_candle_touches_stop_and_target():
    d = evaluate_exit(LONG, bar(0, 100.0, 106.5, 96.5, 105.0), RULES)
    assert d.rule == "stop_loss" and d.price == 97.0


def test_several_tiers_in_one_candle_and_the_last_tier_closes_the_rest():
    d = evaluate_exit(LONG, bar(0, 100.2, 104.5, 100.1, 104.0), RULES, lot_step=0.001)
    assert d.rule == "take_profit" and d.qty == pytest.approx(6.6) and d.price == pytest.approx(102.0)
    assert d.state.tp_tiers_done == 2 and d.numbers["tiers"] == [1, 2]
    rest = PositionState(**{**d.state.__dict__, "qty": 3.4})
    last = evaluate_exit(rest, bar(1, 104.0, 106.2, 103.9, 106.0), RULES, lot_step=0.001)
    assert last.rule == "take_profit" and last.qty == pytest.approx(3.4) and last.full
    assert last.price == pytest.approx(106.0)


def test_tier_below_one_lot_is_skipped_not_sent():
    tiny = PositionState.opened(+1, 100.0, 0.01, T)
    d = evaluate_exit(tiny, bar(0, 100.0, 102.1, 99.9, 102.0), RULES, lot_step=0.01)  # 0.01 x 0.33 -> 0 lots
    assert not d.exits and d.state.tp_tiers_done == 1 and "below one lot" in d.reason


def test_time_exit_only_when_not_in_profit():
    # opened at T; the candle closing at T + 4 h reaches the 240 minutes
    d = evaluate_exit(LONG, bar(3, 100.0, 100.4, 99.5, 99.8), RULES)
    assert (d.rule, d.price) == ("time_exit", 99.8) and d.numbers["held_minutes"] == pytest.approx(240)
    assert not evaluate_exit(LONG, bar(3, 100.0, 100.6, 99.9, 100.3), RULES).exits  # in profit: keep it
    assert not evaluate_exit(LONG, bar(2, 100.0, 100.4, 99.5, 99.8), RULES).exits  # 180 min: too early


def test_opposite_signal_exit():
    b = bar(0, 100.0, 100.5, 99.5, 100.2)
    assert evaluate_exit(LONG, b, RULES, signal="SELL").rule == "opposite_signal"
    assert evaluate_exit(LONG, b, RULES, signal="CLOSE").rule == "opposite_signal"
    assert not evaluate_exit(LONG, b, RULES, signal="BUY").exits
    assert evaluate_exit(SHORT, b, RULES, signal="BUY").rule == "opposite_signal"
    off = ExitRules(**{**RULES.__dict__, "exit_on_opposite_signal": False})
    assert not evaluate_exit(LONG, b, off, signal="SELL").exits


def test_short_is_mirrored():
    # short 100: stop 103; tier 1 at 98 (low reaches it); trailing from the low watermark upwards
    stop = evaluate_exit(SHORT, bar(0, 101.0, 103.5, 100.5, 103.0), RULES)
    assert stop.rule == "stop_loss" and stop.price == pytest.approx(103.0)
    tp = evaluate_exit(SHORT, bar(0, 99.5, 99.8, 97.9, 98.2), RULES, lot_step=0.001)
    assert tp.rule == "take_profit" and tp.price == pytest.approx(98.0) and tp.state.low_watermark == 97.9
    s = PositionState(**{**tp.state.__dict__, "qty": 6.7})
    # trail = 97.9 x 1.02 = 99.858; high 99.9 reaches it
    trail = evaluate_exit(s, bar(1, 98.5, 99.9, 98.4, 99.7), RULES)
    assert trail.rule == "trailing_stop" and trail.price == pytest.approx(99.858)


def test_watermarks_move_every_candle_and_holding_says_why():
    d = evaluate_exit(LONG, bar(0, 100.0, 101.0, 99.0, 100.5), RULES)
    assert not d.exits and d.state.high_watermark == 101.0 and d.state.low_watermark == 99.0
    assert "holding long" in d.reason and "stop 97" in d.reason


def test_rules_from_profile_default_to_one_tier_at_take_profit_pct():
    from shared.config.profiles import ExitParams, Profile, RiskParams

    p = Profile(name="x", risk=RiskParams(stop_loss_pct=2, take_profit_pct=5))
    r = ExitRules.from_profile(p)
    assert r.take_profit == ((5.0, 1.0),) and r.stop_loss_pct == 2 and r.cooldown_minutes == 60
    p2 = Profile(name="y", exits=ExitParams(take_profit=[{"at_pct": 2, "fraction": 0.5}, {"at_pct": 4, "fraction": 0.5}],
                                            trailing_stop_pct=1.0, time_exit_minutes=90, cooldown_minutes=15))
    r2 = ExitRules.from_profile(p2)
    assert r2.take_profit == ((2.0, 0.5), (4.0, 0.5)) and r2.trailing_stop_pct == 1.0 and r2.cooldown_minutes == 15
    with pytest.raises(ValueError):
        ExitParams(take_profit=[{"at_pct": 4, "fraction": 0.5}, {"at_pct": 2, "fraction": 0.5}])
    with pytest.raises(ValueError):
        ExitParams(take_profit=[{"at_pct": 2, "fraction": 0.7}, {"at_pct": 4, "fraction": 0.5}])
