"""The risk engine wired into the cycle: rejections recorded with rule and numbers, REDUCING vs HALTED, the kill
switch within one cycle, operator control requests, state that survives a restart."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from shared.execution.models import OrderType
from shared.execution.state_store import StateStore
from shared.notify.control import write_control_requests
from shared.risk.config import LimitsConfig, RiskConfig
from shared.risk.fleet_state import FLEET, StateEvent, TradingMode
from shared.signals.base import Action
from tests.execution.rig import make_rig, profile, walk

X, Y = "X/USDT:USDT", "Y/USDT:USDT"


def drop_bars(drop_to: float = 98.0) -> dict[str, list]:
    """X: history, one flat candle at 100 (the entry fills at its open... 100.02 with slippage), then a 2 % drop that
    stays above the 3 % stop; Y flat."""
    x = walk(60, 100.0, 1) + [(100, 100.1, drop_to - 0.1, drop_to)] + [(drop_to, drop_to + 0.1, drop_to - 0.1, drop_to)] * 40
    return {X: x, Y: walk(60, 50.0, 2) + [(50, 50.1, 49.9, 50)] * 41}


def limits(**kw) -> RiskConfig:
    base = dict(daily_loss_limit_pct=50, max_drawdown_pct=50, fleet_daily_loss_limit_pct=50, fleet_max_drawdown_pct=50,
                downgrade_within_pct=0.0)  # a limit this tight would otherwise size every entry LOW
    return RiskConfig(limits=LimitsConfig(**{**base, **kw}))


def test_rejection_is_recorded_in_the_decision_row_with_rule_and_numbers(tmp_path):
    rig = make_rig(tmp_path, risk_cfg=limits(max_trades_per_day=1))
    rig.script.say(X, Action.BUY)
    rig.step()
    ok = rig.decision(X)
    assert ok["action"] == "BUY" and ok["details"]["risk"]["rule"] == "entry"
    # the approval carries every number: qty = risk 1 % of 10 000 / stop 3 % = 3 333.33 notional at 100 -> 33.333
    assert ok["details"]["risk"]["numbers"]["qty"] == pytest.approx(33.333)
    assert ok["details"]["size"]["binding"] == "volatility" and ok["details"]["leverage"] == 5
    assert ok["details"]["margin_mode"] == "isolated" and ok["details"]["stop"]["placed"].endswith("-stop")
    rig.script.say(Y, Action.BUY)
    rig.step()
    row = rig.decision(Y)
    assert row["action"] == "WAIT" and "risk rejected [trades_per_day]" in row["reason"]
    risk = row["details"]["risk"]
    assert risk["rule"] == "trades_per_day" and not risk["allowed"]
    assert risk["numbers"]["trades_today"] == 1 and risk["numbers"]["max_per_day"] == 1
    assert {c["rule"] for c in risk["checks"]} >= {"trading_state", "kill_switch", "max_positions", "funding",
                                                   "liquidation_distance", "margin_mode"}
    assert rig.decision(X)["action"] == "HOLD"


def test_daily_loss_moves_to_reducing_exits_continue_and_the_state_survives_a_restart(tmp_path):
    rig = make_rig(tmp_path, drop_bars(), risk_cfg=limits(daily_loss_limit_pct=0.5))
    rig.script.say(X, Action.BUY)
    rig.step()
    rig.script.say(X, Action.WAIT)
    rig.script.say(Y, Action.BUY)
    result = rig.step()  # X fell 2 %: 33.333 x (98 - 100.02) - fees = -69.0 -> -0.69 % of the day start
    assert result.trading_state == "REDUCING"
    [ev] = rig.events("risk_state")
    data = json.loads(ev["data"])
    assert (data["scope"], data["from"], data["to"], data["rule"]) == ("futures", "ACTIVE", "REDUCING", "daily_loss")
    assert data["numbers"]["daily_loss_pct"] == pytest.approx(0.69, abs=0.01) and data["numbers"]["limit_pct"] == 0.5
    assert ev["severity"] == "warning"
    y = rig.decision(Y)
    assert y["action"] == "WAIT" and y["details"]["risk"]["rule"] == "trading_state"
    assert "REDUCING" in y["details"]["risk"]["reason"]
    # REDUCING does not flatten by default: the long and its venue stop stay
    assert rig.position(X)["status"] == "OPEN" and rig.decision(X)["action"] == "HOLD"
    assert [o for o in rig.broker.open_orders() if o.type is OrderType.STOP_MARKET]
    rig.step()
    assert len(rig.events("risk_state")) == 1  # a persisting breach is not a new event

    rig.start()  # restart: the state comes back from the database
    rig.step()
    assert rig.decision(Y)["details"]["risk"]["rule"] == "trading_state"
    assert len(rig.events("risk_state")) == 1
    # a later UTC day without a breach: automatic return to ACTIVE
    rig.clock.current = rig.clock.current.replace(hour=0, minute=30) + timedelta(days=1)
    assert rig.step().trading_state == "ACTIVE"
    assert json.loads(rig.events("risk_state")[-1]["data"])["rule"] == "auto_resume"
    rig.book_matches_venue()


def test_drawdown_halts_and_flattens_then_an_operator_resume_rebases(tmp_path):
    rig = make_rig(tmp_path, drop_bars(), risk_cfg=limits(max_drawdown_pct=0.5))
    rig.script.say(X, Action.BUY)
    rig.step()
    rig.script.say(Y, Action.BUY)
    assert rig.step().trading_state == "HALTED"
    ev = json.loads(rig.events("risk_state")[0]["data"])
    assert (ev["to"], ev["rule"], ev["flatten"]) == ("HALTED", "max_drawdown", True)
    assert rig.events("risk_state")[0]["severity"] == "critical"
    x = rig.decision(X)
    assert x["action"] == "CLOSE" and x["reason"].startswith("flatten: futures HALTED [max_drawdown]")
    pos = rig.position(X)
    assert pos["status"] == "CLOSED" and pos["close_reason"].startswith("flatten: futures HALTED")
    assert rig.broker.open_orders() == []  # the stop went with the position
    assert rig.decision(Y)["details"]["risk"]["rule"] == "trading_state"
    assert rig.conn.execute("SELECT count(*) FROM notify_outbox WHERE kind='risk_state'").fetchone()[0] == 1

    rig.start()
    rig.step()
    assert rig.decision(Y)["details"]["risk"]["rule"] == "trading_state"  # still HALTED after a restart

    write_control_requests(rig.conn, "resume", ["futures"], "alice")
    result = rig.step()
    assert result.trading_state == "ACTIVE" and rig.decision(Y)["action"] == "BUY"
    last = json.loads(rig.events("risk_state")[-1]["data"])
    assert (last["to"], last["rule"], last["operator"]) == ("ACTIVE", "operator_resume", "alice")
    marks = rig.conn.execute("SELECT * FROM equity_marks WHERE scope='futures'").fetchone()
    assert marks["rebased_ts"] is not None and marks["peak_equity"] < 10_000
    assert rig.conn.execute("SELECT status FROM control_requests").fetchone()[0] == "done"


def test_kill_switch_halts_and_flattens_within_one_cycle(tmp_path):
    rig = make_rig(tmp_path)
    rig.script.say(X, Action.BUY)
    rig.step()
    assert rig.position(X)["status"] == "OPEN"
    rig.kill_file.write_text("2025-01-03T13:00:00Z bob: testing\n")
    rig.script.say(Y, Action.BUY)
    result = rig.step()
    assert result.trading_state == "HALTED"
    ev = json.loads(rig.events("risk_state")[0]["data"])
    assert ev["rule"] == "kill_switch" and "bob: testing" in ev["reason"]
    assert rig.decision(X)["action"] == "CLOSE" and rig.position(X)["status"] == "CLOSED"
    y = rig.decision(Y)
    assert y["action"] == "WAIT" and y["details"]["risk"]["rule"] == "trading_state"
    assert rig.broker.positions() == [] and rig.broker.open_orders() == []
    # no resume while the file exists; after removing it, an operator resume works
    write_control_requests(rig.conn, "resume", ["futures"], "alice")
    rig.step()
    req = rig.conn.execute("SELECT status, result FROM control_requests ORDER BY id DESC").fetchone()
    assert req["status"] == "rejected" and "kill switch" in req["result"]
    rig.kill_file.unlink()
    assert rig.step().trading_state == "HALTED"  # removing the file alone does not resume
    write_control_requests(rig.conn, "resume", ["futures"], "alice")
    assert rig.step().trading_state == "ACTIVE"


def test_operator_controls_pause_stopentry_flatten_killswitch(tmp_path):
    rig = make_rig(tmp_path)
    write_control_requests(rig.conn, "stopentry", ["futures"], "carol")
    rig.script.say(X, Action.BUY)
    rig.step()
    assert rig.decision(X)["details"]["risk"]["rule"] == "operator_stopentry"
    write_control_requests(rig.conn, "resume", ["futures"], "carol")
    rig.step()
    assert rig.decision(X)["action"] == "BUY"
    write_control_requests(rig.conn, "pause", ["futures"], "carol")
    rig.script.say(X, Action.CLOSE)  # a signal exit is not acted on while paused
    rig.script.say(Y, Action.BUY)
    rig.step()
    assert rig.decision(X)["action"] == "HOLD" and "paused by the operator" in rig.decision(X)["reason"]
    assert rig.decision(Y)["details"]["risk"]["rule"] == "operator_pause"
    assert StateStore(rig.conn, "futures").control_mode() == "PAUSED"
    rig.start()  # the standing order survives a restart
    rig.step()
    assert rig.decision(Y)["details"]["risk"]["rule"] == "operator_pause"
    write_control_requests(rig.conn, "flatten", ["futures"], "carol")
    rig.step()
    assert rig.decision(X)["action"] == "CLOSE" and "operator request" in rig.decision(X)["reason"]
    assert rig.decision(Y)["details"]["risk"]["rule"] == "flatten"  # no entry in the cycle that flattens
    write_control_requests(rig.conn, "killswitch", ["futures"], "carol")
    assert rig.step().trading_state == "HALTED" and rig.kill_file.exists()
    statuses = [r[0] for r in rig.conn.execute("SELECT status FROM control_requests ORDER BY id")]
    assert statuses == ["done"] * 5
    kinds = [r["message"] for r in rig.events("control")]
    assert any("/pause by carol" in k for k in kinds) and any("/killswitch" in k for k in kinds)


def test_fleet_breach_is_recorded_once_when_both_agents_see_it(tmp_path):
    rig = make_rig(tmp_path, risk_cfg=RiskConfig(), other_agents=("hybrid",))
    rig.conn.execute("INSERT INTO equity_snapshots(ts, market_ts, agent, equity, cash, unrealized_pnl, open_positions)"
                     " VALUES ('t', 't', 'hybrid', 10000, 10000, 0, 0)")
    rig.step()
    # the other agent lost 7 %: the fleet (10 000 + 9 300 vs day start 20 000) is down 3.5 % >= 3 % -> fleet REDUCING
    rig.conn.execute("INSERT INTO equity_snapshots(ts, market_ts, agent, equity, cash, unrealized_pnl, open_positions)"
                     " VALUES ('t', 't', 'hybrid', 9300, 9300, 0, 0)")
    rig.script.say(X, Action.BUY)
    assert rig.step().trading_state == "REDUCING"
    ev = json.loads(rig.events("risk_state")[0]["data"])
    assert (ev["scope"], ev["rule"]) == (FLEET, "fleet_daily_loss")
    assert rig.decision(X)["details"]["risk"]["rule"] == "trading_state"
    # the other agent read the fleet as ACTIVE before this change: its compare-and-set loses, nothing is recorded twice
    other = StateStore(rig.conn, "hybrid")
    other._seen[FLEET] = None
    now = rig.clock.now()
    dup = StateEvent(FLEET, TradingMode.ACTIVE, TradingMode.REDUCING, now, "fleet_daily_loss", "same breach")
    assert not other.save_transition(dup, now)
    assert len(rig.events("risk_state")) == 1
    assert other.risk_state(FLEET, now).mode is TradingMode.REDUCING


def test_spot_agent_with_tiered_take_profit_and_cooldown(tmp_path):
    from tests.execution.rig import SPOT

    up = walk(60, 100.0, 3) + [(100, 100.1, 99.9, 100)] + [(100, 102.5, 99.9, 102.2)] + [(102.2, 104.3, 102, 104)] + \
        [(104, 106.5, 103.9, 106.1)] + [(106, 106.1, 105.9, 106)] * 30
    rig = make_rig(tmp_path, {"X/USD": up}, spec=SPOT,
                   prof=profile(take_profit=[{"at_pct": 2, "fraction": 0.33}, {"at_pct": 4, "fraction": 0.33},
                                             {"at_pct": 6, "fraction": 0.34}], cooldown_minutes=180))
    rig.script.say("X/USD", Action.BUY)
    rig.step()  # entry at 100.02; spot: 15 % of 10 000 = 1 500 x conviction 8 -> 84 % = 1 260 -> qty 12.6
    rig.script.say("X/USD", Action.WAIT)
    assert rig.position("X/USD")["peak_qty"] == pytest.approx(12.6)
    rig.step(2)  # candle 61: high 102.5 >= 100.02 x 1.02 = 102.02: tier 1 sells 12.6 x 0.33 = 4.158
    assert rig.decision("X/USD")["action"] == "PARTIAL_CLOSE"
    assert rig.broker.positions()[0].qty == pytest.approx(12.6 - 4.158)
    rig.step()  # candle 62: high 104.3 >= 102.02 (+4 %): another 4.158
    assert rig.decision("X/USD")["action"] == "PARTIAL_CLOSE"
    assert rig.broker.positions()[0].qty == pytest.approx(12.6 - 2 * 4.158)
    rig.step()  # candle 63: high 106.5 >= 106.02 (+6 %): the rest
    d = rig.decision("X/USD")
    assert d["action"] == "CLOSE" and "tier 3/3" in d["reason"]
    pos = rig.position("X/USD")
    assert pos["status"] == "CLOSED" and pos["close_reason"].startswith("take profit tier 3/3")
    assert pos["realized_pnl"] > 0
    rig.script.say("X/USD", Action.BUY)
    rig.step()  # closed at 64:00; cooldown 180 min -> until 67:00
    d = rig.decision("X/USD")
    assert d["action"] == "WAIT" and d["details"]["risk"]["rule"] == "cooldown"
    assert d["details"]["trade_phase"] == "COOLDOWN" and d["details"]["risk"]["numbers"]["minutes_left"] == 120
    rig.step(2)
    assert rig.decision("X/USD")["action"] == "BUY" and rig.decision("X/USD")["details"]["trade_phase"] == "HOLD"
    rig.book_matches_venue()
