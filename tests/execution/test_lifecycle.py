"""Order lifecycle and trade phases: legal transitions only, every step stored; the reconciliation planner."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.audit.db import connect
from shared.audit.log import AuditLog
from shared.audit.migrations import migrate
from shared.execution.models import OrderReport, OrderRequest, OrderStatus as S, OrderType, PositionReport, Side
from shared.execution.orders import IllegalTransition, is_legal, status_path
from shared.execution.reconcile import BookOrder, BookPosition, plan_orders, plan_positions, plan_stops
from shared.execution.trade_state import PhaseFacts, TradePhase as P, derive_phase, phase_path

NOW = datetime(2025, 3, 3, 12, tzinfo=timezone.utc)


def test_legal_order_transitions():
    assert status_path("x", S.NEW, S.SUBMITTED) == [S.SUBMITTED]
    assert status_path("x", S.NEW, S.FILLED) == [S.SUBMITTED, S.FILLED]  # the venue acknowledged it on the way
    assert status_path("x", S.SUBMITTED, S.PARTIALLY_FILLED) == [S.PARTIALLY_FILLED]
    assert status_path("x", S.PARTIALLY_FILLED, S.PARTIALLY_FILLED, filled_changed=True) == [S.PARTIALLY_FILLED]
    assert status_path("x", S.PARTIALLY_FILLED, S.PARTIALLY_FILLED) == []
    assert status_path("x", S.PARTIALLY_FILLED, S.CANCELED) == [S.CANCELED]
    assert status_path("x", S.NEW, S.REJECTED) == [S.REJECTED]
    for final in (S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED):
        for other in S:
            assert not is_legal(final, other)
    with pytest.raises(IllegalTransition, match="FILLED -> CANCELED"):
        status_path("x", S.FILLED, S.CANCELED)
    with pytest.raises(IllegalTransition):
        status_path("x", S.PARTIALLY_FILLED, S.SUBMITTED)


def test_audit_stores_every_transition_and_refuses_illegal_ones(tmp_path):
    conn = connect(tmp_path / "db.sqlite")
    migrate(conn)
    audit = AuditLog(conn, "futures")
    req = OrderRequest("tr-fut-X-1-entry", "X/USDT:USDT", Side.BUY, OrderType.LIMIT, 3.0, price=99.0)
    assert audit.order_new(req, "entry", NOW, cycle=1, note="entry: test")
    assert not audit.order_new(req, "entry", NOW, cycle=1)  # a retry: the row exists
    rep = OrderReport(req.client_order_id, req.symbol, req.side, req.type, 3.0, S.PARTIALLY_FILLED, 99.0,
                      filled_qty=1.0, avg_price=99.0, created_at=NOW.timestamp(), updated_at=NOW.timestamp())
    audit.order_update(rep)
    rep.filled_qty = 2.0
    audit.order_update(rep)
    rep.status, rep.filled_qty = S.FILLED, 3.0
    audit.order_update(rep)
    assert audit.order_history(req.client_order_id) == ["NEW", "SUBMITTED", "PARTIALLY_FILLED", "PARTIALLY_FILLED",
                                                        "FILLED"]
    rep.status = S.CANCELED  # a venue (or bug) claiming FILLED -> CANCELED: not applied, recorded as an error
    assert not audit.order_update(rep)
    assert audit.order_row(req.client_order_id)["status"] == "FILLED"
    assert conn.execute("SELECT count(*) FROM events WHERE kind='order_error'").fetchone()[0] == 1
    assert audit.order_row(req.client_order_id)["cycle"] == 1 and audit.last_cycle() == 1


def test_trade_phases_derived_from_facts():
    assert derive_phase(PhaseFacts(False), NOW) is P.WAIT
    assert derive_phase(PhaseFacts(False, entry_working=True), NOW) is P.ENTRY
    assert derive_phase(PhaseFacts(True, entry_working=True), NOW) is P.ENTRY  # partly filled, rest working
    assert derive_phase(PhaseFacts(True), NOW) is P.HOLD
    assert derive_phase(PhaseFacts(True, exit_working=True), NOW) is P.EXIT
    closed = NOW - timedelta(minutes=30)
    assert derive_phase(PhaseFacts(False, last_close=closed, cooldown_minutes=60), NOW) is P.COOLDOWN
    assert derive_phase(PhaseFacts(False, last_close=closed, cooldown_minutes=20), NOW) is P.WAIT
    assert phase_path(P.WAIT, P.HOLD) == [P.HOLD]
    assert phase_path(P.WAIT, P.COOLDOWN) == [P.HOLD, P.COOLDOWN]  # entered and stopped out between two looks
    assert phase_path(P.HOLD, P.WAIT) == [P.COOLDOWN, P.WAIT]


def test_reconciliation_plans_on_venue_neutral_reports():
    def rep(cid, status, sym="A", side=Side.SELL, typ=OrderType.STOP_MARKET, qty=1.0, ro=True):
        return OrderReport(cid, sym, side, typ, qty, status, reduce_only=ro)

    book = [BookOrder("o1", "A", S.SUBMITTED), BookOrder("o2", "A", S.NEW), BookOrder("o3", "B", S.SUBMITTED),
            BookOrder("o4", "B", S.NEW)]
    plan = plan_orders(book, {"o1": rep("o1", S.FILLED), "o2": None, "o3": rep("o3", S.SUBMITTED),
                              "o4": rep("o4", S.FILLED)})
    assert [r.client_order_id for r in plan.updates] == ["o1", "o4"]  # filled while we were down / crash after send
    assert [o.client_order_id for o in plan.never_sent] == ["o2"]  # crashed before sending

    lot = lambda s: 0.001  # noqa: E731
    pp = plan_positions([BookPosition(1, "A", 1.0, 100), BookPosition(2, "B", -2.0, 50), BookPosition(3, "C", 1.0, 10)],
                        [PositionReport("A", 1.0, 100), PositionReport("B", -1.5, 50), PositionReport("D", 3.0, 7)], lot)
    assert [p.symbol for p in pp.adopt] == ["D"] and [b.symbol for b in pp.vanished] == ["C"]
    assert [(b.symbol, p.qty) for b, p in pp.resize] == [("B", -1.5)]

    positions = [PositionReport("A", 1.0, 100), PositionReport("B", -2.0, 50), PositionReport("C", 1.0, 10)]
    orders = [rep("sa", S.SUBMITTED, "A", Side.SELL, qty=1.0),  # A: right stop
              rep("sb", S.SUBMITTED, "B", Side.BUY, qty=1.0),  # B: stop for half the size -> replace
              rep("sd", S.SUBMITTED, "D", Side.SELL, qty=1.0)]  # D: no position -> orphan
    sp = plan_stops(positions, orders, needs_stop=lambda s: True, lot_step=lot)
    assert [p.symbol for p in sp.missing] == ["C"]
    assert [(p.symbol, [o.client_order_id for o in os]) for p, os in sp.replace] == [("B", ["sb"])]
    assert [o.client_order_id for o in sp.orphans] == ["sd"]
    assert plan_stops(positions, orders, needs_stop=lambda s: False, lot_step=lot).missing == ()
