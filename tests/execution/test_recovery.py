"""Restart recovery and reconciliation in one process: the agent is 'killed' (its objects dropped, or a fault point
raises), the venue's state stays on disk, and a new agent on the same database recovers. The same scenarios with real
processes and `kill -9` are in tests/test_recovery_system.py."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from shared.execution.models import OrderRequest, OrderStatus, OrderType, Side
from shared.signals.base import Action
from tests.execution.rig import SimulatedCrash, make_rig, profile, walk

X, Y = "X/USDT:USDT", "Y/USDT:USDT"


def stop_bars() -> dict[str, list]:
    """X flat at 100 for 4 candles, then a candle through the 3 % stop (97.02 for an entry at 100.02)."""
    flat = [(100, 100.2, 99.8, 100)]
    x = walk(60, 100.0, 1) + flat * 4 + [(99.0, 99.2, 96.5, 97.0)] + [(97, 97.2, 96.8, 97)] * 30
    return {X: x, Y: walk(60, 50.0, 2) + [(50, 50.1, 49.9, 50)] * 35}


def stops(rig, symbol=X):  # type: ignore[no-untyped-def]
    return [o for o in rig.broker.open_orders() if o.symbol == symbol and o.type is OrderType.STOP_MARKET]


def test_a_stop_that_fills_while_the_agent_is_down_is_recorded_once(tmp_path):
    rig = make_rig(tmp_path, stop_bars(), prof=profile(cooldown_minutes=600))
    rig.script.say(X, Action.BUY)
    rig.step()
    rig.script.say(X, Action.WAIT)
    [stop] = stops(rig)
    assert stop.stop_price == pytest.approx(97.02)  # RiskEngine.protective_stop: 100.02 x 0.97 = 97.0194 -> tick
    # the agent dies; the market moves 6 hours on; candle 64 goes through the stop while nobody watches
    rig.clock.advance(timedelta(hours=6))
    rig.start()
    rig.step()
    first, rec = rig.events("recovery")  # one per start
    assert json.loads(first["data"])["rebuilt"]["positions"] == []
    data = json.loads(rec["data"])
    assert data["rebuilt"]["positions"] == ["X/USDT:USDT BUY 33.333"]
    assert data["rebuilt"]["working_orders"] == [stop.client_order_id]
    assert data["reconcile"]["fills_applied"] == 1
    pos = rig.position(X)
    assert pos["status"] == "CLOSED" and pos["close_reason"] == "stop loss (venue stop at 97.02)"
    # the stop filled at 97.02 less 2 bps slippage = 97.0006 -> 97.00: PnL 33.333 x (97.00 - 100.02)
    assert pos["realized_pnl"] == pytest.approx(33.333 * (97.00 - 100.02))
    fills = rig.conn.execute("SELECT count(*) FROM fills WHERE client_order_id=?", (stop.client_order_id,)).fetchone()[0]
    assert fills == 1
    assert rig.audit.order_history(stop.client_order_id) == ["NEW", "SUBMITTED", "FILLED"]
    rig.step(3)
    assert rig.conn.execute("SELECT count(*) FROM fills").fetchone()[0] == 2  # entry + stop, nothing twice
    assert rig.decision(X)["details"]["trade_phase"] == "COOLDOWN"
    rig.book_matches_venue()


def test_crash_after_submit_finds_the_order_instead_of_placing_a_second(tmp_path):
    rig = make_rig(tmp_path, faults_env={"TRACER_FAULT_CRASH_AT": "after_submit", "TRACER_FAULT_INTENT": "entry"})
    rig.script.say(X, Action.BUY)
    with pytest.raises(SimulatedCrash):
        rig.step()
    [row] = rig.conn.execute("SELECT * FROM orders").fetchall()
    assert row["status"] == "NEW" and rig.broker.orders[row["client_order_id"]].status is OrderStatus.FILLED
    assert rig.audit.open_positions() == [] and stops(rig) == []  # the venue holds an unprotected position
    rig.clock.advance(timedelta(hours=1))
    rig.start()
    assert rig.cycle.cycle == 1  # the crashed cycle's order counts: numbering continues after it
    rig.step()  # the strategy still says BUY
    assert rig.audit.order_history(row["client_order_id"]) == ["NEW", "SUBMITTED", "FILLED"]
    assert rig.position(X)["status"] == "OPEN" and rig.position(X)["qty"] == pytest.approx(33.333)
    assert rig.decision(X)["action"] == "HOLD"  # already long: no second entry
    entries = [o for o in rig.broker.orders.values() if o.symbol == X and o.client_order_id.endswith("-entry")]
    assert len(entries) == 1
    [stop] = stops(rig)
    assert stop.client_order_id.endswith("-rstop") and stop.qty == pytest.approx(33.333)
    assert stop.stop_price == pytest.approx(97.02)
    rig.book_matches_venue()


def test_crash_before_submit_expires_the_unsent_order(tmp_path):
    rig = make_rig(tmp_path, faults_env={"TRACER_FAULT_CRASH_AT": "before_submit"})
    rig.script.say(X, Action.BUY)
    with pytest.raises(SimulatedCrash):
        rig.step()
    [row] = rig.conn.execute("SELECT * FROM orders").fetchall()
    assert row["status"] == "NEW" and rig.broker.orders == {}
    rig.start()
    rig.script.say(X, Action.WAIT)
    rig.step()
    assert rig.audit.order_row(row["client_order_id"])["status"] == "EXPIRED"
    assert rig.audit.order_history(row["client_order_id"]) == ["NEW", "EXPIRED"]
    assert "never reached the venue" in rig.audit.order_row(row["client_order_id"])["reason"]
    assert json.loads(rig.events("recovery")[-1]["data"])["reconcile"]["expired_unsent"] == [row["client_order_id"]]
    rig.script.say(X, Action.BUY)
    rig.step()
    assert len(rig.broker.orders) == 2 and rig.position(X)["status"] == "OPEN"  # one entry + its stop
    rig.book_matches_venue()


def test_crash_between_entry_fill_and_stop_re_places_the_stop(tmp_path):
    rig = make_rig(tmp_path, faults_env={"TRACER_FAULT_CRASH_AT": "after_entry_fill"})
    rig.script.say(X, Action.BUY)
    with pytest.raises(SimulatedCrash):
        rig.step()
    assert rig.position(X)["status"] == "OPEN" and stops(rig) == []
    rig.start()
    rig.step()
    [stop] = stops(rig)
    assert stop.stop_price == pytest.approx(97.02) and stop.qty == pytest.approx(33.333)
    assert json.loads(rig.events("recovery")[-1]["data"])["reconcile"]["stops_placed"] == [stop.client_order_id]
    assert rig.position(X)["stop_price"] == pytest.approx(97.02)
    rig.book_matches_venue()


def test_reconciliation_adopts_unknown_positions_and_closes_vanished_ones(tmp_path):
    rig = make_rig(tmp_path)
    rig.script.say(X, Action.BUY)
    rig.step()
    rig.script.say(X, Action.WAIT)
    # someone trades Y by hand at the venue; and the venue forgets X without a fill (a venue-side reset)
    rig.broker.set_leverage(Y, 2)
    rig.broker.place_order(OrderRequest("manual-1", Y, Side.SELL, OrderType.MARKET, 10.0))
    state = json.loads((tmp_path / "venue.json").read_text())
    state["fills"] = [f for f in state["fills"] if f["client_order_id"] != "manual-1"]  # only the holding is known
    state["holdings"].pop(X)
    state["orders"] = {k: v for k, v in state["orders"].items() if v["symbol"] != X}
    (tmp_path / "venue.json").write_text(json.dumps(state))
    rig.start()
    rig.step()
    adopted = rig.position(Y)
    assert adopted["status"] == "OPEN" and adopted["origin"] == "adopted" and adopted["side"] == "SELL"
    assert adopted["qty"] == 10.0
    gone = rig.position(X)
    assert gone["status"] == "CLOSED" and gone["close_reason"].startswith("closed at the venue while not watched")
    alerts = {r[0] for r in rig.conn.execute("SELECT title FROM notify_outbox WHERE kind='reconcile'")}
    assert alerts == {"futures: adopted Y/USDT:USDT", "futures: X/USDT:USDT gone at the venue"}
    [stop] = stops(rig, Y)  # the adopted short got its protective stop too (above the entry)
    assert stop.side is Side.BUY and stop.stop_price > adopted["entry_price"]
    rig.book_matches_venue(external={"manual-1"})
