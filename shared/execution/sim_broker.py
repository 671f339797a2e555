"""The sim venue: fills market, limit and stop orders against replayed candles, with fees, slippage,
isolated-margin leverage, funding and liquidation. Its state lives in a JSON file, written atomically
after every change, so it survives an agent's crash like a real venue would. See docs/sim_venue.md.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import numpy as np

from shared.execution.accounting import EPS, Holding, apply_fill, funding_amount, liquidation_price, round_step, round_tick
from shared.execution.broker import BrokerError
from shared.execution.models import (
    BalanceReport, BrokerUpdate, Fill, FundingPayment, MarketInfo, OrderReport, OrderRequest, OrderStatus,
    OrderType, PositionReport, Side,
)
from shared.market.replay import ReplayFeed

_WORKING = (OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED)
# The share of a candle's volume a resting limit order may take (the fleet's sim venue uses it; see docs/sim_venue.md).
LIMIT_VOLUME_SHARE = 0.1


class SimBroker:
    name = "sim"

    def __init__(self, feed: ReplayFeed, markets: dict[str, MarketInfo], starting_cash: float,
                 slippage_bps: float = 2.0, state_path: Path | None = None, currency: str = "USD",
                 limit_volume_share: float | None = None, fsync: bool = True, account: str = "") -> None:
        """`limit_volume_share`: a resting limit order fills at most this share of each candle's volume (the rest
        stays working: PARTIALLY_FILLED); None fills it whole. Market and stop orders always fill whole."""
        self._feed = feed
        self._volume_share = limit_volume_share
        self._tag = f"sim-{account}-" if account else "sim-"  # venue order / fill ids: unique per account
        self._fsync = fsync  # a killed process loses nothing either way (rename is atomic); fsync guards power loss
        self._markets = markets
        self._slip = slippage_bps / 10_000
        self._path = state_path
        self.currency = currency
        self.futures = any(m.market == "futures" for m in markets.values())
        self.cash = starting_cash
        self.holdings: dict[str, Holding] = {}
        self.orders: dict[str, OrderReport] = {}
        self.fills: list[Fill] = []
        self.funding_payments: list[FundingPayment] = []
        self.leverage: dict[str, int] = {}
        self.processed_until: float | None = None
        self._seq = 0
        self._fill_text: list[str] = []  # JSON of each fill (append-only), so a save does not re-encode history
        self._funding_text: list[str] = []
        self._final_orders: dict[str, str] = {}  # JSON of orders in a final status (they never change again)
        if state_path and state_path.exists():
            self._load(state_path)

    # -- persistence ---------------------------------------------------------------------------------
    def _load(self, path: Path) -> None:
        s = json.loads(path.read_text())
        self.cash = s["cash"]
        self.holdings = {k: Holding(**v) for k, v in s["holdings"].items()}
        self.orders = {k: OrderReport.from_dict(v) for k, v in s["orders"].items()}
        self.fills = [Fill(**{**f, "side": Side(f["side"])}) for f in s["fills"]]
        self.funding_payments = [FundingPayment(**p) for p in s.get("funding", [])]
        self.leverage = s["leverage"]
        self.processed_until = s["processed_until"]
        self._seq = s["seq"]

    def _save(self) -> None:
        """Write the whole venue state atomically (temp file, fsync, rename). Fills and final orders never change,
        so their JSON text is encoded once and reused: a save costs the working state, not the history."""
        if not self._path:
            return
        self._fill_text.extend(json.dumps({**asdict(f), "side": f.side.value}) for f in self.fills[len(self._fill_text):])
        self._funding_text.extend(json.dumps(asdict(p)) for p in self.funding_payments[len(self._funding_text):])
        orders = []
        for k, o in self.orders.items():
            text = self._final_orders.get(k)
            if text is None:
                text = json.dumps(o.to_dict())
                if o.status.is_final:
                    self._final_orders[k] = text
            orders.append(f"{json.dumps(k)}: {text}")
        head = json.dumps({"cash": self.cash, "holdings": {k: asdict(h) for k, h in self.holdings.items() if h.is_open},
                           "leverage": self.leverage, "processed_until": self.processed_until, "seq": self._seq})
        text = (head[:-1] + ', "orders": {' + ", ".join(orders) + '}, "fills": [' + ", ".join(self._fill_text)
                + '], "funding": [' + ", ".join(self._funding_text) + "]}")
        tmp = self._path.with_suffix(".tmp")
        with open(tmp, "w") as fh:
            fh.write(text)
            fh.flush()
            if self._fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, self._path)

    # -- market data -----------------------------------------------------------------------------------
    def market(self, symbol: str) -> MarketInfo:
        try:
            return self._markets[symbol]
        except KeyError:
            raise BrokerError(f"unknown symbol {symbol}") from None

    def _venue_time(self, symbol: str) -> tuple[float, float]:
        """(close time, close price) of the last candle closed by the venue's clock."""
        c = self._feed.history(symbol)
        n = int(np.searchsorted(c.open_time, (self.processed_until or 0) - c.seconds, side="right"))  # closed candles
        if n == 0:
            raise BrokerError(f"no closed candle for {symbol} yet", retryable=True)
        return float(c.open_time[n - 1] + c.seconds), float(c.close[n - 1])

    def last_price(self, symbol: str) -> float:
        return self._venue_time(symbol)[1]

    # -- account ---------------------------------------------------------------------------------------
    def _holding(self, symbol: str) -> Holding:
        return self.holdings.setdefault(symbol, Holding(symbol, leverage=self.leverage.get(symbol, 1)))

    def positions(self) -> list[PositionReport]:
        out = []
        for h in self.holdings.values():
            if not h.is_open:
                continue
            mark = self.last_price(h.symbol)
            liq = (liquidation_price(h.qty, h.entry_price, h.margin, self._markets[h.symbol].maintenance_margin_rate)
                   if self.futures else None)
            out.append(PositionReport(h.symbol, h.qty, h.entry_price, h.leverage, h.margin, liq, mark, h.unrealized_pnl(mark)))
        return out

    def balance(self) -> BalanceReport:
        positions = self.positions()
        if self.futures:
            used = sum(p.margin for p in positions)
            upnl = sum(p.unrealized_pnl for p in positions)
            return BalanceReport(self.currency, self.cash, self.cash + upnl, self.cash - used, used)
        value = sum(p.qty * p.mark_price for p in positions)
        return BalanceReport(self.currency, self.cash, self.cash + value, self.cash)

    def set_leverage(self, symbol: str, leverage: int) -> None:
        m = self.market(symbol)
        if not 1 <= leverage <= m.max_leverage:
            raise BrokerError(f"leverage {leverage} not allowed for {symbol}; allowed 1..{m.max_leverage}")
        if self.holdings.get(symbol) and self.holdings[symbol].is_open and self.holdings[symbol].leverage != leverage:
            raise BrokerError(f"cannot change leverage of {symbol} while a position is open")
        self.leverage[symbol] = leverage
        self._save()

    # -- orders ----------------------------------------------------------------------------------------
    def fetch_order(self, client_order_id: str) -> OrderReport | None:
        return self.orders.get(client_order_id)

    def open_orders(self) -> list[OrderReport]:
        return [o for o in self.orders.values() if o.status in _WORKING]

    def place_order(self, request: OrderRequest) -> OrderReport:
        existing = self.orders.get(request.client_order_id)
        if existing is not None:
            return existing
        m = self.market(request.symbol)
        ts, last = self._venue_time(request.symbol)
        order = OrderReport(request.client_order_id, request.symbol, request.side, request.type, request.qty,
                            OrderStatus.SUBMITTED, request.price, request.stop_price, request.reduce_only,
                            venue_order_id=f"{self._tag}{self._next_seq()}", created_at=ts, updated_at=ts)
        self.orders[order.client_order_id] = order
        reason = self._validate(request, m, last)
        if reason:
            order.status, order.reason = OrderStatus.REJECTED, reason
        elif request.type is OrderType.MARKET:
            slipped = last * (1 + self._slip * request.side.sign)
            self._execute(order, m, round_tick(slipped, m.tick_size), ts, "taker")
        elif request.type is OrderType.LIMIT and (request.price - last) * request.side.sign >= 0:
            self._execute(order, m, last, ts, "taker")  # marketable limit: takes at the current price
        self._save()
        return order

    def cancel_order(self, client_order_id: str) -> OrderReport:
        order = self.orders.get(client_order_id)
        if order is None:
            raise BrokerError(f"unknown order {client_order_id}")
        if order.status in _WORKING:
            order.status, order.reason = OrderStatus.CANCELED, "canceled by client"
            order.updated_at = self.processed_until or order.updated_at
            self._save()
        return order

    def _validate(self, r: OrderRequest, m: MarketInfo, last: float) -> str:
        if r.qty <= 0:
            return "quantity must be positive"
        if r.type is OrderType.LIMIT and not r.price:
            return "limit order needs a price"
        if r.type is OrderType.STOP_MARKET and not r.stop_price:
            return "stop order needs a stop price"
        h = self.holdings.get(r.symbol)
        held = h.qty if h else 0.0
        if r.reduce_only and (held * r.side.sign >= 0):
            return "reduce-only order would not reduce a position"
        price = r.price or r.stop_price or last
        if r.qty * price < m.min_notional and not r.reduce_only:
            return f"notional {r.qty * price:.2f} below minimum {m.min_notional}"
        if not self.futures:
            if r.side is Side.SELL and r.qty > held + EPS:
                return f"insufficient {m.base}: have {held}, sell {r.qty}"
            if r.side is Side.BUY and r.qty * price * (1 + m.taker_fee + self._slip) > self.cash:
                return f"insufficient {self.currency}: cash {self.cash:.2f}, need {r.qty * price * (1 + m.taker_fee):.2f}"
        elif not r.reduce_only and held * r.side.sign >= 0:
            lev = self.leverage.get(r.symbol, 1)
            need = r.qty * price / lev + r.qty * price * m.taker_fee
            free = self.balance().free
            if need > free:
                return f"insufficient margin: free {free:.2f}, need {need:.2f} at {lev}x"
        return ""

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _execute(self, order: OrderReport, m: MarketInfo, price: float, ts: float, liquidity: str,
                 cap: float | None = None) -> Fill | None:
        h = self._holding(order.symbol)
        qty = order.qty - order.filled_qty
        if cap is not None:
            qty = min(qty, cap)
        if order.reduce_only:
            if h.qty * order.side.sign >= 0:
                order.status, order.reason, order.updated_at = OrderStatus.EXPIRED, "position already closed", ts
                return None
            qty = min(qty, abs(h.qty))
        fee = qty * price * (m.taker_fee if liquidity == "taker" else m.maker_fee)
        pnl = apply_fill(h, order.side, qty, price, self.futures, self.leverage.get(order.symbol, 1))
        if self.futures:
            self.cash += pnl - fee
        else:
            self.cash += -order.side.sign * qty * price - fee
        fill = Fill(f"{order.venue_order_id}-{self._next_seq()}", order.client_order_id, order.symbol, order.side,
                    qty, price, fee, ts, liquidity, "trade", pnl)  # type: ignore[arg-type]
        self.fills.append(fill)
        order.avg_price = (order.avg_price * order.filled_qty + price * qty) / (order.filled_qty + qty)
        order.filled_qty += qty
        order.fee += fee
        complete = order.filled_qty >= order.qty - EPS or (order.reduce_only and not h.is_open)  # nothing left to reduce
        order.status = OrderStatus.FILLED if complete else OrderStatus.PARTIALLY_FILLED
        order.updated_at = ts
        if not h.is_open:
            self._expire_reduce_only(order.symbol, ts)
        return fill

    def _expire_reduce_only(self, symbol: str, ts: float) -> None:
        for o in self.orders.values():
            if o.symbol == symbol and o.reduce_only and o.status in _WORKING:
                o.status, o.reason, o.updated_at = OrderStatus.EXPIRED, "position closed", ts

    # -- time ------------------------------------------------------------------------------------------
    def poll(self, now: datetime) -> BrokerUpdate:
        """Match working orders, liquidations and funding against every candle closed since the last poll."""
        t = now.timestamp()
        update = BrokerUpdate()
        if self.processed_until is None:
            self.processed_until = t
            self._save()
            return update
        if t <= self.processed_until:
            return update
        n_fills, n_funding = len(self.fills), len(self.funding_payments)
        before = {k: o.status for k, o in self.orders.items()}
        for symbol in self._markets:
            self._replay_symbol(symbol, self.processed_until, t)
        self.processed_until = t
        update.fills = self.fills[n_fills:]
        update.funding = self.funding_payments[n_funding:]
        update.orders = [o for k, o in self.orders.items() if before.get(k) != o.status]
        self._save()
        return update

    def _replay_symbol(self, symbol: str, after: float, upto: float) -> None:
        c = self._feed.history(symbol)
        m = self._markets[symbol]
        funding = self._feed.funding(symbol)
        lo = int(np.searchsorted(c.open_time, after - c.seconds, side="right"))  # = c.closed_count(after), no copy
        hi = int(np.searchsorted(c.open_time, upto - c.seconds, side="right"))
        for i in range(lo, hi):
            o_t, close_t = float(c.open_time[i]), float(c.open_time[i] + c.seconds)
            bar = (float(c.open[i]), float(c.high[i]), float(c.low[i]), float(c.close[i]))
            self._match_orders(symbol, m, o_t, close_t, bar, float(c.volume[i]))
            if self.futures:
                self._check_liquidation(symbol, m, close_t, bar)
            if funding is not None:
                for ft, rate in funding.between(close_t - c.seconds, close_t):
                    self._apply_funding(symbol, ft, rate, bar[3])

    def _match_orders(self, symbol: str, m: MarketInfo, open_t: float, close_t: float,
                      bar: tuple[float, float, float, float], volume: float = float("inf")) -> None:
        o, high, low, _ = bar
        for order in [x for x in self.orders.values() if x.symbol == symbol and x.status in _WORKING]:
            if order.created_at > open_t:
                continue  # placed after this candle opened: no look-back into it
            buy = order.side is Side.BUY
            if order.type is OrderType.STOP_MARKET:
                sp = order.stop_price or 0.0
                if (buy and high >= sp) or (not buy and low <= sp):
                    gap = max(o, sp) if buy else min(o, sp)
                    self._execute(order, m, round_tick(gap * (1 + self._slip * order.side.sign), m.tick_size), close_t, "taker")
            elif order.type is OrderType.LIMIT:
                lp = order.price or 0.0
                if (buy and low <= lp) or (not buy and high >= lp):
                    cap = None
                    if self._volume_share is not None:
                        cap = round_step(max(volume, 0.0) * self._volume_share, m.lot_step)
                        if cap <= 0:
                            continue  # too little volume in this candle for even one lot
                    self._execute(order, m, min(o, lp) if buy else max(o, lp), close_t, "maker", cap)

    def _check_liquidation(self, symbol: str, m: MarketInfo, close_t: float, bar: tuple[float, float, float, float]) -> None:
        h = self.holdings.get(symbol)
        if not h or not h.is_open:
            return
        liq = liquidation_price(h.qty, h.entry_price, h.margin, m.maintenance_margin_rate)
        if liq is None or not ((h.qty > 0 and bar[2] <= liq) or (h.qty < 0 and bar[1] >= liq)):
            return
        side, qty = (Side.SELL if h.qty > 0 else Side.BUY), abs(h.qty)
        # the venue keeps the remaining maintenance margin as the liquidation fee: the whole margin is lost
        fee = m.maintenance_margin_rate * qty * liq
        pnl = apply_fill(h, side, qty, liq, True)
        self.cash += pnl - fee
        self.fills.append(Fill(f"{self._tag}liq-{self._next_seq()}", f"liquidation-{symbol}-{int(close_t)}", symbol, side, qty,
                               liq, fee, close_t, "taker", "liquidation", pnl))
        self._expire_reduce_only(symbol, close_t)

    def _apply_funding(self, symbol: str, ts: int, rate: float, mark: float) -> None:
        h = self.holdings.get(symbol)
        if not h or not h.is_open:
            return
        amount = funding_amount(h.qty, mark, rate)
        self.cash += amount
        self.funding_payments.append(FundingPayment(symbol, float(ts), rate, mark, h.qty, amount))

    def recent_fills(self, since: float) -> list[Fill]:
        return [f for f in self.fills if f.ts >= since]

    def recent_funding(self, since: float) -> list[FundingPayment]:
        """Funding payments at or after market time `since`, oldest first (the cycle records them once)."""
        return [p for p in self.funding_payments if p.ts >= since]
