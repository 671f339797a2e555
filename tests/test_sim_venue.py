"""The sim venue's fills, worked by hand (docs/sim_venue.md has the same numbers)."""
from __future__ import annotations

import numpy as np
import pytest

from shared.execution.accounting import liquidation_price
from shared.execution.models import MarketInfo, OrderRequest, OrderStatus, OrderType, Side
from shared.execution.sim_broker import SimBroker
from shared.market.datafiles import FundingSeries
from shared.market.replay import ReplayFeed
from tests.helpers import T0, at, candles

H = 3600
SPOT = MarketInfo("X/USD", "spot", "X", "USD", lot_step=0.001, tick_size=0.01, min_notional=1.0,
                  taker_fee=0.001, maker_fee=0.0005)
PERP = MarketInfo("X/USDT:USDT", "futures", "X", "USDT", lot_step=0.001, tick_size=0.01, min_notional=5.0,
                  max_leverage=20, maintenance_margin_rate=0.005, taker_fee=0.0005, maker_fee=0.0002, exchange_stops=True)


def spot_broker(bars, tmp_path=None) -> SimBroker:
    feed = ReplayFeed({"X/USD": candles("X/USD", bars)})
    return SimBroker(feed, {"X/USD": SPOT}, 10_000.0, slippage_bps=2.0,
                     state_path=tmp_path / "venue.json" if tmp_path else None)


def market(cid: str, symbol: str, side: Side, qty: float, **kw) -> OrderRequest:
    return OrderRequest(cid, symbol, side, OrderType.MARKET, qty, **kw)


def test_spot_market_round_trip_fee_and_slippage():
    b = spot_broker([(100, 100, 100, 100)] * 3 + [(110, 110, 110, 110)] * 3)
    b.poll(at(T0 + H))  # first poll anchors the venue: candle 0 (close 100) is the last closed
    b.poll(at(T0 + H + 1))
    buy = b.place_order(market("b1", "X/USD", Side.BUY, 10))
    # 100 * (1 + 0.0002) = 100.02; fee 10 * 100.02 * 0.001 = 1.0002
    assert buy.status is OrderStatus.FILLED and buy.avg_price == pytest.approx(100.02)
    assert buy.fee == pytest.approx(1.0002)
    assert b.cash == pytest.approx(10_000 - 1000.2 - 1.0002)
    b.poll(at(T0 + 5 * H))  # candle 3 (close 110) has closed
    sell = b.place_order(market("s1", "X/USD", Side.SELL, 10))
    # 110 * (1 - 0.0002) = 109.978 -> tick 0.01 -> 109.98; fee 1099.8 * 0.001 = 1.0998
    assert sell.avg_price == pytest.approx(109.98)
    assert b.fills[-1].realized_pnl == pytest.approx(10 * (109.98 - 100.02))
    assert b.cash == pytest.approx(10_000 - 1000.2 - 1.0002 + 1099.8 - 1.0998)
    assert b.positions() == []


def test_spot_refuses_selling_what_it_does_not_hold_and_buying_beyond_cash():
    b = spot_broker([(100, 100, 100, 100)] * 3)
    b.poll(at(T0 + H))
    assert b.place_order(market("s", "X/USD", Side.SELL, 1)).status is OrderStatus.REJECTED
    rej = b.place_order(market("b", "X/USD", Side.BUY, 1000))  # 100k > 10k cash
    assert rej.status is OrderStatus.REJECTED and "insufficient" in rej.reason
    assert b.cash == 10_000


def test_place_order_is_idempotent_on_client_id(tmp_path):
    b = spot_broker([(100, 100, 100, 100)] * 3, tmp_path)
    b.poll(at(T0 + H))
    first = b.place_order(market("same", "X/USD", Side.BUY, 1))
    again = b.place_order(market("same", "X/USD", Side.BUY, 1))
    assert again.venue_order_id == first.venue_order_id
    assert len(b.fills) == 1
    reopened = spot_broker([(100, 100, 100, 100)] * 3, tmp_path)  # a restart reads the venue state from disk
    assert reopened.place_order(market("same", "X/USD", Side.BUY, 1)).venue_order_id == first.venue_order_id
    assert len(reopened.fills) == 1 and reopened.cash == pytest.approx(b.cash)


def test_limit_and_stop_orders_fill_on_later_candles_only():
    bars = [(100, 100, 100, 100), (99, 99.5, 97.5, 98), (96, 96, 94, 95), (93, 93, 92, 92.5)]
    b = spot_broker(bars)
    b.poll(at(T0 + H))
    lim = b.place_order(OrderRequest("l1", "X/USD", Side.BUY, OrderType.LIMIT, 10, price=98.0))
    assert lim.status is OrderStatus.SUBMITTED
    b.poll(at(T0 + 2 * H))  # candle 1: open 99, low 97.5 <= 98 -> maker fill at the limit
    assert lim.status is OrderStatus.FILLED and lim.avg_price == 98.0
    assert lim.fee == pytest.approx(10 * 98 * 0.0005)
    stop = b.place_order(OrderRequest("st", "X/USD", Side.SELL, OrderType.STOP_MARKET, 10, stop_price=95.0))
    b.poll(at(T0 + 3 * H))  # candle 2: open 96, low 94 -> triggers at 95, less slippage: 94.981 -> 94.98
    assert stop.status is OrderStatus.FILLED and stop.avg_price == pytest.approx(94.98)


def test_stop_gapped_through_fills_at_the_open():
    bars = [(100, 100, 100, 100), (93, 93, 92, 92.5)]
    b = spot_broker(bars)
    b.poll(at(T0 + H))
    b.place_order(market("b", "X/USD", Side.BUY, 10))
    stop = b.place_order(OrderRequest("st", "X/USD", Side.SELL, OrderType.STOP_MARKET, 10, stop_price=95.0))
    b.poll(at(T0 + 2 * H))  # opened at 93, below the stop: fills at 93 * 0.9998 = 92.9814 -> 92.98
    assert stop.avg_price == pytest.approx(92.98)


def perp_broker(bars, funding=None) -> SimBroker:
    feed = ReplayFeed({"X/USDT:USDT": candles("X/USDT:USDT", bars)},
                      {"X/USDT:USDT": funding} if funding is not None else None)
    return SimBroker(feed, {"X/USDT:USDT": PERP}, 10_000.0, slippage_bps=2.0, currency="USDT")


def test_futures_leverage_margin_funding_and_liquidation():
    # candles 0..6 flat at 100 (lows 99), candle 7 closes 101 at 08:00 (funding), candle 8 drops to 90
    bars = [(100, 100.5, 99, 100)] * 7 + [(100, 101.5, 99.5, 101), (101, 101, 90, 91), (91, 92, 90, 91)]
    funding = FundingSeries(np.array([T0 + 8 * H], dtype=np.int64), np.array([0.0001]))
    b = perp_broker(bars, funding)
    b.poll(at(T0 + H))
    b.set_leverage("X/USDT:USDT", 10)
    rep = b.place_order(market("o", "X/USDT:USDT", Side.BUY, 10))
    # fill 100.02; notional 1000.2; margin 1000.2 / 10 = 100.02; fee 1000.2 * 0.0005 = 0.5001
    assert rep.avg_price == pytest.approx(100.02)
    [pos] = b.positions()
    assert pos.margin == pytest.approx(100.02)
    # long liquidation: (entry - margin/q) / (1 - mmr) = (100.02 - 10.002) / 0.995 = 90.470351...
    assert pos.liquidation_price == pytest.approx(90.47035175879397)
    assert pos.liquidation_price == pytest.approx(100.02 * (1 - 1 / 10) / (1 - 0.005))
    assert b.cash == pytest.approx(10_000 - 0.5001)
    assert b.balance().free == pytest.approx(10_000 - 0.5001 - 100.02)

    update = b.poll(at(T0 + 10 * H))
    # funding at 08:00: mark 101 (close of the candle ending then); a long pays 10 * 101 * 0.0001 = 0.101
    [pay] = update.funding
    assert pay.amount == pytest.approx(-0.101)
    # candle 8's low 90 <= 90.4703: liquidated at the liquidation price; the whole isolated margin is lost
    [liq] = [f for f in update.fills if f.kind == "liquidation"]
    assert liq.price == pytest.approx(90.47035175879397) and liq.side is Side.SELL
    assert liq.realized_pnl == pytest.approx(10 * (90.47035175879397 - 100.02))
    assert liq.realized_pnl - liq.fee == pytest.approx(-100.02)
    assert b.positions() == []
    assert b.cash == pytest.approx(10_000 - 0.5001 - 0.101 - 100.02)


def test_short_liquidation_price_and_reduce_only_stop():
    assert liquidation_price(-2, 100.0, 40.0, 0.01) == pytest.approx((100 + 20) / 1.01)
    bars = [(100, 100, 100, 100), (100, 104, 99, 103), (103, 103, 102, 102)]
    b = perp_broker(bars)
    b.poll(at(T0 + H))
    b.set_leverage("X/USDT:USDT", 5)
    b.place_order(market("short", "X/USDT:USDT", Side.SELL, 5))
    stop = b.place_order(OrderRequest("st", "X/USDT:USDT", Side.BUY, OrderType.STOP_MARKET, 5, stop_price=103.0,
                                      reduce_only=True))
    b.poll(at(T0 + 2 * H))  # high 104 >= 103: stop buys back at 103 * 1.0002 = 103.0206 -> 103.02
    assert stop.status is OrderStatus.FILLED and stop.avg_price == pytest.approx(103.02)
    assert b.positions() == []
    # the entry filled at 100 * 0.9998 = 99.98; pnl = 5 * (99.98 - 103.02)
    assert b.fills[-1].realized_pnl == pytest.approx(5 * (99.98 - 103.02))
    late = b.place_order(OrderRequest("st2", "X/USDT:USDT", Side.BUY, OrderType.STOP_MARKET, 5, stop_price=110.0,
                                      reduce_only=True))
    assert late.status is OrderStatus.REJECTED  # nothing left to reduce


def test_futures_refuses_entry_beyond_free_margin():
    b = perp_broker([(100, 100, 100, 100)] * 2)
    b.poll(at(T0 + H))
    b.set_leverage("X/USDT:USDT", 2)
    rej = b.place_order(market("big", "X/USDT:USDT", Side.BUY, 300))  # margin 15k > 10k
    assert rej.status is OrderStatus.REJECTED and "margin" in rej.reason
