"""ACTIVE / REDUCING / HALTED: breaches, escalation, REDUCING vs HALTED, operator resume, restart rebuild,
fleet-level limits, and the kill switch file."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from shared.config.profiles import Profile
from shared.execution.models import MarketInfo, Side
from shared.risk.config import RiskConfig, StateConfig
from shared.risk.engine import RiskEngine
from shared.risk.fleet_state import FLEET, StateMachine, TradingMode, TradingState, restore_state
from shared.risk.kill_switch import KillSwitchStatus, engage_kill_switch, read_kill_switch, release_kill_switch
from shared.risk.limits import check_daily_loss
from shared.risk.views import EntryRequest, EquityView, PortfolioView

NOW = datetime(2025, 3, 3, 15, 0, tzinfo=timezone.utc)
NO_KILL = KillSwitchStatus(False, Path("/nonexistent/KILL"))
SOL = MarketInfo("SOL/USD", "spot", "SOL", "USD", lot_step=0.001, tick_size=0.01, min_notional=10.0)


def engine(tmp_path: Path, state: StateConfig | None = None) -> RiskEngine:
    return RiskEngine(RiskConfig(state=state or StateConfig()), Profile(name="p"), kill_switch_path=tmp_path / "KILL")


def view(equity: float, day_start: float = 10_000, peak: float = 10_000, fleet: EquityView | None = None,
         agent_state: TradingState | None = None, fleet_state: TradingState | None = None,
         now: datetime = NOW) -> PortfolioView:
    return PortfolioView("hybrid", now, EquityView(equity, peak, day_start),
                         fleet or EquityView(20_000, 20_000, 20_000), agent_state=agent_state, fleet_state=fleet_state)


def test_daily_loss_moves_agent_to_reducing_no_flatten(tmp_path):
    # day start 10 000, equity 9 650 -> 3.5 % >= 3 % -> REDUCING (default on_daily_loss), exits continue, no flatten
    review = engine(tmp_path).review_state(view(9_650))
    ev = review.agent.event
    assert ev is not None and ev.from_mode is TradingMode.ACTIVE and ev.to_mode is TradingMode.REDUCING
    assert ev.rule == "daily_loss" and ev.numbers["daily_loss_pct"] == pytest.approx(3.5) and not ev.flatten
    assert review.agent.state.mode is TradingMode.REDUCING and not review.flatten
    assert review.fleet.event is None  # fleet 20 000 vs 20 000 untouched


def test_daily_loss_configured_to_halt_flattens(tmp_path):
    review = engine(tmp_path, StateConfig(on_daily_loss="HALTED")).review_state(view(9_650))
    assert review.agent.state.mode is TradingMode.HALTED and review.agent.event.flatten and review.flatten


def test_reducing_can_be_configured_to_flatten(tmp_path):
    review = engine(tmp_path, StateConfig(reducing_flatten=True)).review_state(view(9_650))
    assert review.agent.state.mode is TradingMode.REDUCING and review.flatten


def test_drawdown_halts_and_flattens(tmp_path):
    # peak 12 000, equity 10 700 (incl. unrealised): 1 300 / 12 000 = 10.83 % >= 10 % -> HALTED (default)
    review = engine(tmp_path).review_state(view(10_700, day_start=10_800, peak=12_000))
    ev = review.agent.event
    assert ev.to_mode is TradingMode.HALTED and ev.rule == "max_drawdown" and ev.flatten
    assert ev.numbers["drawdown_pct"] == pytest.approx(10.8333, abs=1e-4)


def test_reducing_escalates_to_halted_but_halted_never_relaxes(tmp_path):
    reducing = TradingState("hybrid", TradingMode.REDUCING, NOW - timedelta(hours=1), "daily loss", "daily_loss")
    review = engine(tmp_path).review_state(view(10_700, day_start=10_800, peak=12_000, agent_state=reducing))
    assert review.agent.event.from_mode is TradingMode.REDUCING and review.agent.state.mode is TradingMode.HALTED
    # HALTED, the next day, no breach at all: still HALTED (only an operator resumes)
    halted = review.agent.state
    later = view(10_000, agent_state=halted, now=NOW + timedelta(days=2))
    again = engine(tmp_path).review_state(later)
    assert again.agent.event is None and again.agent.state.mode is TradingMode.HALTED


def test_reducing_auto_resumes_only_on_a_later_utc_day(tmp_path):
    reducing = TradingState("hybrid", TradingMode.REDUCING, NOW, "daily loss", "daily_loss")
    # same day, equity recovered above the stop: stays REDUCING (a daily stop lasts the day)
    assert engine(tmp_path).review_state(view(9_900, agent_state=reducing)).agent.state.mode is TradingMode.REDUCING
    # next UTC day, new day start 9 900, equity 9 900: no breach -> ACTIVE with an auto_resume event
    nxt = view(9_900, day_start=9_900, agent_state=reducing, now=NOW + timedelta(hours=10))
    tr = engine(tmp_path).review_state(nxt).agent
    assert tr.state.mode is TradingMode.ACTIVE and tr.event.rule == "auto_resume"
    # auto resume switched off -> stays REDUCING
    off = engine(tmp_path, StateConfig(auto_resume_next_day=False)).review_state(nxt).agent
    assert off.state.mode is TradingMode.REDUCING


def test_operator_resume_from_halted(tmp_path):
    eng = engine(tmp_path)
    halted = TradingState("hybrid", TradingMode.HALTED, NOW, "max drawdown", "max_drawdown", True)
    with pytest.raises(ValueError, match="operator"):
        eng.resume(halted, "  ", NOW)
    tr = eng.resume(halted, "alice", NOW + timedelta(minutes=5), "reviewed the losses")
    assert tr.state.mode is TradingMode.ACTIVE and tr.event.operator == "alice"
    assert tr.event.rule == "operator_resume" and tr.event.numbers["rebase_marks"] is True
    assert "alice" in tr.event.message


def test_state_rebuilt_from_last_persisted_event(tmp_path):
    tr = engine(tmp_path).review_state(view(9_650)).agent
    stored = json.loads(json.dumps(tr.event.to_record()))  # what the events table's data column holds
    rebuilt = restore_state("hybrid", stored, NOW + timedelta(hours=1))
    assert rebuilt == tr.state
    assert restore_state("hybrid", None, NOW).mode is TradingMode.ACTIVE
    assert TradingState.from_record(json.loads(json.dumps(tr.state.to_record()))) == tr.state
    # the rebuilt state blocks entries just as before the restart
    v = engine(tmp_path).check_entry(EntryRequest("SOL/USD", Side.BUY, 100.0, 5, SOL), view(9_650, agent_state=rebuilt))
    assert not v.allowed and v.rule == "trading_state" and "REDUCING" in v.reason


def test_fleet_limit_moves_the_fleet_and_blocks_the_agent(tmp_path):
    # agent fine; fleet day start 20 000, fleet equity 19 300 -> 3.5 % -> fleet REDUCING
    review = engine(tmp_path).review_state(view(10_000, fleet=EquityView(19_300, 20_000, 20_000)))
    assert review.agent.event is None
    assert review.fleet.state.scope == FLEET and review.fleet.state.mode is TradingMode.REDUCING
    assert review.fleet.event.rule == "fleet_daily_loss" and review.effective.scope == FLEET
    v = engine(tmp_path).check_entry(EntryRequest("SOL/USD", Side.BUY, 100.0, 5, SOL),
                                     view(10_000, fleet_state=review.fleet.state))
    assert not v.allowed and v.rule == "trading_state" and v.numbers["fleet_state"] == "REDUCING"


def test_persisting_breach_or_kill_switch_emits_no_duplicate_event(tmp_path):
    # already REDUCING for the same daily loss: no new event every cycle
    reducing = TradingState("hybrid", TradingMode.REDUCING, NOW, "daily loss", "daily_loss")
    assert engine(tmp_path).review_state(view(9_650, agent_state=reducing)).agent.event is None
    # already HALTED with the kill file still present: no new event
    sm = StateMachine(StateConfig())
    halted = TradingState("hybrid", TradingMode.HALTED, NOW, "kill", "kill_switch", True)
    assert sm.evaluate(halted, [], KillSwitchStatus(True, tmp_path / "KILL"), NOW).event is None


def test_worst_breach_wins():
    sm = StateMachine(StateConfig())
    state = TradingState.initial("hybrid", NOW)
    daily = check_daily_loss(9_000, 10_000, 3.0)  # REDUCING
    dd = check_daily_loss(9_000, 10_000, 3.0, rule="max_drawdown")  # HALTED
    assert sm.evaluate(state, [daily, dd], NO_KILL, NOW).state.mode is TradingMode.HALTED


def test_kill_switch_file_halts_agent_and_fleet(tmp_path):
    eng = engine(tmp_path)
    assert eng.review_state(view(10_000)).agent.event is None
    (tmp_path / "KILL").write_text("bob: exchange outage\n")
    review = eng.review_state(view(10_000))
    assert review.agent.state.mode is TradingMode.HALTED and review.fleet.state.mode is TradingMode.HALTED
    assert review.agent.event.rule == "kill_switch" and "bob: exchange outage" in review.agent.event.reason
    assert review.flatten  # halted_flatten defaults to True
    # entries are refused at once, even before the new state is persisted
    v = eng.check_entry(EntryRequest("SOL/USD", Side.BUY, 100.0, 5, SOL), view(10_000))
    assert not v.allowed and v.rule == "kill_switch"
    # no resume while the file exists; removing the file does not resume by itself
    with pytest.raises(ValueError, match="kill switch"):
        eng.resume(review.agent.state, "alice", NOW)
    assert release_kill_switch(tmp_path / "KILL")
    later = eng.review_state(view(10_000, agent_state=review.agent.state, now=NOW + timedelta(days=1)))
    assert later.agent.state.mode is TradingMode.HALTED
    assert eng.resume(review.agent.state, "alice", NOW).state.mode is TradingMode.ACTIVE


def test_engage_and_read_kill_switch(tmp_path):
    path = tmp_path / "run" / "KILL_SWITCH"
    assert not read_kill_switch(path).active
    st = engage_kill_switch(path, "manual stop", NOW, who="telegram:alice")
    assert st.active and "telegram:alice: manual stop" in st.note
    assert release_kill_switch(path) and not release_kill_switch(path)
