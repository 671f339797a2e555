"""Partial fills: the sim venue fills a resting limit order at most a share of each candle's volume (docs/sim_venue.md),
and the cycle moves the position, the venue stop and the order's lifecycle with every part."""
from __future__ import annotations

import pytest

from shared.config.profiles import ExecutionParams
from shared.execution.models import OrderRequest, OrderStatus, OrderType, Side
from shared.execution.sim_broker import SimBroker
from shared.market.replay import ReplayFeed
from shared.signals.base import Action
from tests.execution.rig import make_rig, perp, profile, walk
from tests.helpers import T0, at, candles

H = 3600
X = "X/USDT:USDT"


def test_resting_limit_order_fills_a_share_of_each_candles_volume():
    # volume 30 per candle, share 0.1 -> at most 3.0 per candle; buy 10 @ 98 on candles that trade through 98
    bars = [(100, 100, 100, 100)] + [(99, 99.5, 97.5, 98)] * 5
    feed = ReplayFeed({X: candles(X, bars, volume=30.0)})
    b = SimBroker(feed, {X: perp(X)}, 10_000.0, 2.0, currency="USDT", limit_volume_share=0.1)
    b.poll(at(T0 + H))
    b.set_leverage(X, 5)
    order = b.place_order(OrderRequest("l1", X, Side.BUY, OrderType.LIMIT, 10.0, price=98.0))
    assert order.status is OrderStatus.SUBMITTED
    seen = []
    for k in range(2, 6):
        b.poll(at(T0 + k * H))
        seen.append((order.status, order.filled_qty))
    assert seen == [(OrderStatus.PARTIALLY_FILLED, 3.0), (OrderStatus.PARTIALLY_FILLED, 6.0),
                    (OrderStatus.PARTIALLY_FILLED, 9.0), (OrderStatus.FILLED, 10.0)]
    assert [f.qty for f in b.fills] == [3.0, 3.0, 3.0, 1.0] and all(f.liquidity == "maker" for f in b.fills)
    assert order.avg_price == 98.0 and order.fee == pytest.approx(10 * 98 * 0.0002)  # maker fee on every part
    assert b.positions()[0].qty == 10.0


def test_cancel_keeps_the_filled_part():
    bars = [(100, 100, 100, 100)] + [(99, 99.5, 97.5, 98)] * 3
    b = SimBroker(ReplayFeed({X: candles(X, bars, volume=30.0)}), {X: perp(X)}, 10_000.0, currency="USDT",
                  limit_volume_share=0.1)
    b.poll(at(T0 + H))
    order = b.place_order(OrderRequest("l1", X, Side.BUY, OrderType.LIMIT, 10.0, price=98.0))
    b.poll(at(T0 + 3 * H))  # two candles: 6.0 filled
    canceled = b.cancel_order("l1")
    assert canceled.status is OrderStatus.CANCELED and canceled.filled_qty == 6.0 and order is canceled
    assert b.positions()[0].qty == 6.0


def test_without_a_share_limit_orders_fill_whole():
    bars = [(100, 100, 100, 100), (99, 99.5, 97.5, 98)]
    b = SimBroker(ReplayFeed({X: candles(X, bars, volume=0.5)}), {X: perp(X)}, 10_000.0, currency="USDT")
    b.poll(at(T0 + H))
    order = b.place_order(OrderRequest("l1", X, Side.BUY, OrderType.LIMIT, 10.0, price=98.0))
    b.poll(at(T0 + 2 * H))
    assert order.status is OrderStatus.FILLED and order.filled_qty == 10.0


def test_limit_entry_filling_in_parts_moves_position_and_stop_then_times_out(tmp_path):
    # the entry plan is 33.333 at 5x; the limit 10 bps below 100 -> 99.90; flat candles with low 99.8 trade through it
    # volume 100 per candle x share 0.1 -> 10 per candle; the rest is canceled after 150 minutes
    bars = {X: walk(60, 100.0, 1) + [(100, 100.2, 99.8, 100)] * 20}
    prof = profile(execution=ExecutionParams(entry_order="limit", limit_offset_bps=10, entry_timeout_minutes=150))
    rig = make_rig(tmp_path, bars, prof=prof, volume=100.0, volume_share=0.1)
    rig.script.say(X, Action.BUY)
    rig.step()
    entry = rig.conn.execute("SELECT * FROM orders WHERE intent='entry'").fetchone()
    assert entry["type"] == "LIMIT" and entry["price"] == pytest.approx(99.9) and entry["qty"] == pytest.approx(33.333)
    d = rig.decision(X)
    assert d["action"] == "BUY" and "working" in d["reason"] and d["details"]["trade_phase"] == "ENTRY"
    sizes = []
    for _ in range(3):
        rig.step()
        pos = rig.position(X)
        [stop] = [o for o in rig.broker.open_orders() if o.type is OrderType.STOP_MARKET]
        sizes.append((pos["qty"], stop.qty))
    # each candle adds 10 at 99.90 (maker); the venue stop follows the position's size every cycle
    assert sizes == [(10.0, 10.0), (20.0, 20.0), (30.0, 30.0)]
    cid = entry["client_order_id"]
    # the third cycle (3 h >= 150 min) first takes the third part, then cancels the remaining 3.333
    assert rig.audit.order_row(cid)["status"] == "CANCELED" and rig.audit.order_row(cid)["filled_qty"] == 30.0
    assert rig.audit.order_history(cid) == ["NEW", "SUBMITTED"] + ["PARTIALLY_FILLED"] * 3 + ["CANCELED"]
    assert rig.position(X)["entry_price"] == pytest.approx(99.9)
    assert rig.decision(X)["details"]["trade_phase"] == "HOLD"
    rig.book_matches_venue()
