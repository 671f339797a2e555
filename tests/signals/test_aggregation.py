"""Aggregation: each mode, including BUY vs SELL conflicts, and the mapping of signals onto the account."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.signals.aggregation import AggregationConfig, aggregate
from shared.signals.base import Action
from shared.signals.strategies import Signal

BUY, SELL, CLOSE, PARTIAL, WAIT = Action.BUY, Action.SELL, Action.CLOSE, Action.PARTIAL_CLOSE, Action.WAIT


def sig(action: Action, source: str, conf: float) -> Signal:
    return Signal(action, source, conf, f"{source} says {action.value}", {"x": 1})


def cfg(mode: str, **kw) -> AggregationConfig:
    return AggregationConfig(mode=mode, **kw)


def agg(signals, config, **kw):
    kw.setdefault("allow_short", True)
    return aggregate(signals, config, **kw)


# -- voting ----------------------------------------------------------------------------------------------

def test_voting_majority_wins_with_confidence_scaled_by_share():
    a = agg([sig(BUY, "momentum", 0.8), sig(BUY, "breakout", 0.6), sig(SELL, "mean_reversion", 0.7)], cfg("voting"))
    assert a.action is BUY
    assert a.confidence == pytest.approx(0.7 * 2 / 3)
    assert a.sources == ("momentum", "breakout") and a.scores["BUY"] == 2 and a.scores["SELL"] == 1
    assert "momentum says BUY" in a.reason and len(a.breakdown) == 3


def test_voting_buy_vs_sell_tie_is_wait():
    a = agg([sig(BUY, "momentum", 0.9), sig(SELL, "mean_reversion", 0.5)], cfg("voting"))
    assert a.action is WAIT and "conflict" in a.reason and a.confidence == 0


def test_voting_min_votes_and_min_confidence():
    assert agg([sig(BUY, "momentum", 0.9)], cfg("voting", min_votes=2)).action is WAIT
    a = agg([sig(BUY, "momentum", 0.5), sig(BUY, "breakout", 0.5), sig(SELL, "mean_reversion", 0.9)],
            cfg("voting", min_confidence=0.4))
    assert a.action is WAIT and "min_confidence" in a.reason  # 0.5 x 2/3 = 0.33


# -- weighted --------------------------------------------------------------------------------------------

def test_weighted_single_signal_passes_its_confidence():
    a = agg([sig(BUY, "momentum", 0.7)], cfg("weighted"))
    assert a.action is BUY and a.confidence == pytest.approx(0.7)


def test_weighted_opposing_signals_cancel():
    signals = [sig(BUY, "momentum", 0.8), sig(SELL, "mean_reversion", 0.6)]
    a = agg(signals, cfg("weighted"))
    assert a.action is WAIT and "0.10 < min_confidence" in a.reason
    a = agg(signals, cfg("weighted", min_confidence=0.0))
    assert a.action is BUY and a.confidence == pytest.approx((0.8 - 0.6) / 2)


def test_weighted_equal_scores_is_conflict():
    a = agg([sig(BUY, "momentum", 0.6), sig(SELL, "mean_reversion", 0.6)], cfg("weighted", min_confidence=0))
    assert a.action is WAIT and "conflict" in a.reason


def test_weighted_uses_per_strategy_weights():
    signals = [sig(BUY, "momentum", 0.6), sig(SELL, "mean_reversion", 0.9)]
    assert agg(signals, cfg("weighted", min_confidence=0)).action is SELL
    a = agg(signals, cfg("weighted", min_confidence=0, weights={"momentum": 3.0}))
    assert a.action is BUY and a.confidence == pytest.approx((1.8 - 0.9) / 4)
    # Weight 0 silences a strategy (recorded as not counted).
    a = agg(signals, cfg("weighted", weights={"mean_reversion": 0}))
    assert a.action is BUY and [c.counted for c in a.breakdown] == [True, False]


# -- unanimous -------------------------------------------------------------------------------------------

def test_unanimous_agreement_uses_weakest_confidence():
    a = agg([sig(BUY, "momentum", 0.9), sig(BUY, "breakout", 0.55)], cfg("unanimous"))
    assert a.action is BUY and a.confidence == pytest.approx(0.55)


def test_unanimous_any_disagreement_is_wait():
    a = agg([sig(BUY, "momentum", 0.9), sig(BUY, "breakout", 0.8), sig(SELL, "mean_reversion", 0.4)],
            cfg("unanimous"))
    assert a.action is WAIT and "not unanimous" in a.reason


def test_unanimous_abstentions_veto_only_when_configured():
    signals = [sig(BUY, "momentum", 0.9)]
    ran = ("momentum", "breakout")
    assert agg(signals, cfg("unanimous"), evaluated=ran).action is BUY
    a = agg(signals, cfg("unanimous", abstain_vetoes=True), evaluated=ran)
    assert a.action is WAIT and "breakout abstained" in a.reason


# -- threshold -------------------------------------------------------------------------------------------

def test_threshold_needs_enough_summed_evidence():
    assert agg([sig(BUY, "momentum", 0.7)], cfg("threshold", threshold=1.0)).action is WAIT
    a = agg([sig(BUY, "momentum", 0.6), sig(BUY, "breakout", 0.6)], cfg("threshold", threshold=1.0))
    assert a.action is BUY and a.confidence == pytest.approx(0.6)


def test_threshold_conflict_when_both_sides_reach_it():
    a = agg([sig(BUY, "momentum", 0.6), sig(BUY, "breakout", 0.6), sig(SELL, "mean_reversion", 0.5),
             sig(SELL, "vwap_reversion", 0.6)], cfg("threshold", threshold=1.0))
    assert a.action is WAIT and "both reach threshold" in a.reason


def test_threshold_opposing_evidence_below_threshold_lowers_confidence():
    a = agg([sig(BUY, "momentum", 0.6), sig(BUY, "breakout", 0.6), sig(SELL, "mean_reversion", 0.5)],
            cfg("threshold", threshold=1.0, min_confidence=0))
    assert a.action is BUY and a.confidence == pytest.approx(0.6 * 1.2 / 1.7)


# -- mapping onto the account ----------------------------------------------------------------------------

def test_long_only_flat_ignores_sell_and_buy_stands_alone():
    signals = [sig(BUY, "momentum", 0.6), sig(SELL, "mean_reversion", 0.9)]
    a = aggregate(signals, cfg("voting"), allow_short=False)
    assert a.action is BUY and a.confidence == pytest.approx(0.6)
    assert a.breakdown[1].counted is False and "long-only" in a.breakdown[1].note
    assert aggregate([sig(SELL, "mean_reversion", 0.9)], cfg("weighted"), allow_short=False).action is WAIT


def test_sell_while_long_is_an_exit_and_conflicts_with_buy():
    a = aggregate([sig(SELL, "mean_reversion", 0.9)], cfg("weighted"), position_qty=1.0, allow_short=False)
    assert a.action is CLOSE and a.breakdown[0].side == "EXIT"
    a = aggregate([sig(BUY, "momentum", 0.7), sig(SELL, "mean_reversion", 0.7)], cfg("voting"), position_qty=1.0)
    assert a.action is WAIT and "conflict" in a.reason


def test_buy_while_short_is_an_exit_and_close_while_flat_is_ignored():
    assert agg([sig(BUY, "momentum", 0.8)], cfg("weighted"), position_qty=-1.0).action is CLOSE
    a = agg([sig(CLOSE, "mean_reversion", 0.8)], cfg("weighted"))
    assert a.action is WAIT and "nothing to close" in a.reason


def test_full_close_wins_over_partial():
    both = [sig(PARTIAL, "momentum", 0.8), sig(CLOSE, "mean_reversion", 0.8)]
    assert agg(both, cfg("voting"), position_qty=1.0).action is CLOSE
    assert agg(both[:1], cfg("voting"), position_qty=1.0).action is PARTIAL


def test_min_signal_confidence_drops_weak_signals():
    a = agg([sig(BUY, "momentum", 0.3), sig(SELL, "mean_reversion", 0.8)], cfg("voting", min_signal_confidence=0.5))
    assert a.action is SELL and a.breakdown[0].counted is False


def test_no_signals_is_wait_naming_who_ran_and_evaluation_carries_breakdown():
    a = aggregate([], cfg("weighted"), evaluated=("momentum", "breakout"))
    assert a.action is WAIT and "momentum, breakout" in a.reason
    ev = agg([sig(BUY, "momentum", 0.7), sig(BUY, "breakout", 0.5)], cfg("weighted")).to_evaluation({"regime": "BULL"})
    assert ev.action is BUY and ev.strategy == "momentum+breakout" and ev.details["regime"] == "BULL"
    assert [s["source"] for s in ev.details["signals"]] == ["momentum", "breakout"]
    assert ev.details["signals"][0]["metadata"] == {"x": 1}  # every number reaches the decision row


def test_config_validation():
    with pytest.raises(ValidationError):
        AggregationConfig(mode="majority")
    with pytest.raises(ValidationError, match="unknown strategy"):
        AggregationConfig(weights={"momentun": 2})
    with pytest.raises(ValidationError):
        AggregationConfig(weights={"momentum": -1})
    with pytest.raises(ValidationError):
        AggregationConfig(treshold=2)
