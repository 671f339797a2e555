"""The agent cycle, once for both agents: read candles, evaluate, cap size, place or close, record.

What differs between agents is data in AgentSpec (market type, shorts, leverage); venue detail stays
behind the Broker protocol and its MarketInfo capabilities.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from shared.audit.log import AuditLog, DecisionRow
from shared.clock import Clock
from shared.config.profiles import Profile
from shared.execution.broker import Broker, BrokerError
from shared.execution.models import OrderReport, OrderRequest, OrderStatus, OrderType, PositionReport, Side
from shared.execution.accounting import round_tick
from shared.market.replay import ReplayFeed
from shared.risk.basic import size_entry
from shared.signals.base import Action, Evaluation, SignalEngine, SymbolContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AgentSpec:
    name: str
    market: Literal["spot", "futures"]
    allow_short: bool
    profile_setting: str  # the TB_* setting that names this agent's profile


@dataclass
class SymbolOutcome:
    symbol: str
    action: str
    reason: str
    price: float | None = None
    qty: float | None = None
    client_order_id: str | None = None
    details: dict = field(default_factory=dict)


@dataclass
class CycleResult:
    cycle: int
    market_time: datetime
    seconds: float
    equity: float
    outcomes: list[SymbolOutcome] = field(default_factory=list)
    fills: int = 0
    data_time: datetime | None = None  # close of the newest candle seen: how fresh the feed is


def client_order_id(agent: str, symbol: str, cycle: int, intent: str) -> str:
    """Deterministic id from the decision, so a retry finds the order instead of placing a second one.
    Kept within 36 characters of [A-Za-z0-9-] (the strictest venue rule we target)."""
    compact = "".join(ch for ch in symbol.split(":")[0] if ch.isalnum())
    return f"tr-{agent[:3]}-{compact}-{cycle}-{intent}"[:36]


class AgentCycle:
    def __init__(self, spec: AgentSpec, profile: Profile, leverage: int, feed: ReplayFeed, broker: Broker,
                 engine: SignalEngine, audit: AuditLog, clock: Clock, lookback: int, cycle: int = 0) -> None:
        self.spec, self.profile, self.leverage = spec, profile, leverage
        self.feed, self.broker, self.engine, self.audit, self.clock = feed, broker, engine, audit, clock
        self.lookback = lookback
        self.cycle = cycle
        self.futures = spec.market == "futures"
        self._newest_data: datetime | None = None

    # -- venue -> audit --------------------------------------------------------------------------------
    def sync_venue(self, now: datetime) -> int:
        """Poll the venue, then record every fill, funding payment and order change exactly once."""
        update = self.broker.poll(now)
        applied = self._ingest_fills("signal")
        for payment in update.funding:
            self.audit.apply_funding(payment)
        for row in self.audit.open_orders():
            rep = self.broker.fetch_order(row["client_order_id"])
            if rep is not None:
                self.audit.order_update(rep)
        return applied

    def _ingest_fills(self, close_reason: str) -> int:
        """Record venue fills not yet in the database (by fill id), from the newest recorded one on."""
        applied = 0
        for fill in self.broker.recent_fills(self.audit.last_fill_market_ts()):
            reason = "stop loss (venue stop)" if fill.client_order_id.endswith("-stop") else close_reason
            if self.audit.apply_fill(fill, self.futures, self.leverage, reason):
                applied += 1
                log.info("fill %s %s %.8g @ %.8g fee %.4f pnl %.4f", fill.symbol, fill.side.value, fill.qty, fill.price,
                         fill.fee, fill.realized_pnl)
        return applied

    # -- one cycle -------------------------------------------------------------------------------------
    def run_once(self) -> CycleResult:
        started = time.monotonic()
        self.cycle += 1
        now = self.clock.now()
        fills = self.sync_venue(now)
        positions = {p.symbol: p for p in self.broker.positions()}
        balance = self.broker.balance()
        result = CycleResult(self.cycle, now, 0.0, balance.equity, fills=fills)
        self._newest_data = None
        data_end = self.feed.data_end()
        for symbol in self.feed.symbols:
            if now >= data_end:
                outcome = SymbolOutcome(symbol, Action.WAIT.value, f"replay reached the end of bundled data ({data_end:%Y-%m-%d})")
            else:
                outcome = self._decide(symbol, now, positions.get(symbol), len(positions))
            if outcome.client_order_id and outcome.action in (Action.BUY.value, Action.SELL.value):
                positions = {p.symbol: p for p in self.broker.positions()}
            result.outcomes.append(outcome)
        self.audit.decisions(self.cycle, now, [
            DecisionRow(o.symbol, o.action, o.reason, o.price, o.qty, o.details, o.client_order_id)
            for o in result.outcomes])
        balance = self.broker.balance()
        held = self.broker.positions()
        self.audit.equity(now, balance.equity, balance.cash, sum(p.unrealized_pnl for p in held), len(held))
        result.equity = balance.equity
        result.data_time = self._newest_data
        result.seconds = time.monotonic() - started
        return result

    def _decide(self, symbol: str, now: datetime, position: PositionReport | None, open_count: int) -> SymbolOutcome:
        base = self.feed.candles(symbol, now, self.lookback)
        if len(base) == 0:
            return SymbolOutcome(symbol, Action.WAIT.value, "no closed candle yet")
        self._newest_data = max(self._newest_data or base.close_time(-1), base.close_time(-1))
        price = float(base.close[-1])
        funding = self.feed.funding(symbol)
        frames = {base.timeframe: base}
        for tf in self.engine.timeframes:
            frames[tf] = self.feed.candles(symbol, now, self.lookback, tf)
        ctx = SymbolContext(symbol, now, frames, base.timeframe, position, self.spec.allow_short,
                            funding_rate=funding.latest(now.timestamp()) if funding else None)
        exit_reason = self._exit_reason(position, price)
        ev = (Evaluation(Action.CLOSE, 1.0, exit_reason, {"close": price}, "exit_rules") if exit_reason
              else self.engine.evaluate(ctx))
        outcome = self._act(symbol, ev, position, price, open_count)
        outcome.details = {**ev.details, "confidence": round(ev.confidence, 3), "strategy": ev.strategy,
                                       "signal": ev.action.value}
        return outcome

    def _exit_reason(self, position: PositionReport | None, price: float) -> str:
        if position is None:
            return ""
        move_pct = (price / position.entry_price - 1) * 100 * (1 if position.qty > 0 else -1)
        risk = self.profile.risk
        if move_pct <= -risk.stop_loss_pct:
            return f"stop loss: price {price:.8g} is {move_pct:.2f}% from entry {position.entry_price:.8g} (limit -{risk.stop_loss_pct}%)"
        if move_pct >= risk.take_profit_pct:
            return f"take profit: price {price:.8g} is +{move_pct:.2f}% from entry {position.entry_price:.8g} (target {risk.take_profit_pct}%)"
        return ""

    def _act(self, symbol: str, ev: Evaluation, position: PositionReport | None, price: float, open_count: int) -> SymbolOutcome:
        action = ev.action
        if action is Action.SELL and position is None and not self.spec.allow_short:
            return SymbolOutcome(symbol, Action.WAIT.value, f"{ev.reason}; long only, no short", price)
        if action is Action.SELL and position is not None and position.qty > 0:
            action = Action.CLOSE
        if action is Action.BUY and position is not None and position.qty < 0:
            action = Action.CLOSE
        if action in (Action.CLOSE, Action.PARTIAL_CLOSE):
            if position is None:
                return SymbolOutcome(symbol, Action.WAIT.value, f"{ev.reason}; nothing to close", price)
            return self._close(symbol, position, price, ev.reason)
        if action in (Action.BUY, Action.SELL):
            if position is not None:
                return SymbolOutcome(symbol, "HOLD", f"{ev.reason}; already {'long' if position.qty > 0 else 'short'}", price)
            return self._open(symbol, Side.BUY if action is Action.BUY else Side.SELL, price, ev.reason, open_count)
        if position is not None:
            return SymbolOutcome(symbol, "HOLD", f"holding {'long' if position.qty > 0 else 'short'} "
                                 f"{abs(position.qty):.8g} @ {position.entry_price:.8g}; {ev.reason}", price)
        return SymbolOutcome(symbol, Action.WAIT.value, ev.reason, price)

    def _open(self, symbol: str, side: Side, price: float, reason: str, open_count: int) -> SymbolOutcome:
        market = self.broker.market(symbol)
        balance = self.broker.balance()
        leverage = min(self.leverage, market.max_leverage) if self.futures else 1
        sizing = size_entry(self.profile.risk, market, balance.equity, balance.free, price, leverage, open_count)
        action = Action.BUY.value if side is Side.BUY else Action.SELL.value
        if sizing.qty <= 0:
            return SymbolOutcome(symbol, Action.WAIT.value, f"{reason}; skipped: {sizing.reason}", price)
        if self.futures:
            self.broker.set_leverage(symbol, leverage)
        req = OrderRequest(client_order_id(self.spec.name, symbol, self.cycle, "entry"), symbol, side, OrderType.MARKET,
                           sizing.qty, leverage=leverage)
        rep = self._submit(req, "entry")
        if rep is None or rep.status is not OrderStatus.FILLED:
            why = rep.reason if rep else "venue error"
            return SymbolOutcome(symbol, Action.WAIT.value, f"{reason}; order not filled: {why}", price, sizing.qty,
                                 req.client_order_id)
        self._ingest_fills("signal")
        if market.exchange_stops:
            self._place_protective_stop(symbol, side, rep.avg_price, rep.filled_qty, market.tick_size)
        return SymbolOutcome(symbol, action, f"{reason}; size {sizing.reason}", rep.avg_price, rep.filled_qty, req.client_order_id)

    def _place_protective_stop(self, symbol: str, side: Side, entry: float, qty: float, tick: float) -> None:
        """A reduce-only stop held by the venue, so the position is protected even while we are down."""
        pct = self.profile.risk.stop_loss_pct / 100
        stop = round_tick(entry * (1 - pct) if side is Side.BUY else entry * (1 + pct), tick)
        req = OrderRequest(client_order_id(self.spec.name, symbol, self.cycle, "stop"), symbol, side.opposite(),
                           OrderType.STOP_MARKET, qty, stop_price=stop, reduce_only=True)
        self._submit(req, "protective_stop")

    def _close(self, symbol: str, position: PositionReport, price: float, reason: str) -> SymbolOutcome:
        side = Side.SELL if position.qty > 0 else Side.BUY
        req = OrderRequest(client_order_id(self.spec.name, symbol, self.cycle, "exit"), symbol, side, OrderType.MARKET,
                           abs(position.qty), reduce_only=self.futures)
        rep = self._submit(req, "exit")
        if rep is None or rep.status is not OrderStatus.FILLED:
            return SymbolOutcome(symbol, "HOLD", f"{reason}; close failed: {rep.reason if rep else 'venue error'}", price)
        for order in self.broker.open_orders():  # a protective stop is pointless once flat
            if order.symbol == symbol and order.reduce_only:
                self.audit.order_update(self.broker.cancel_order(order.client_order_id))
        self._ingest_fills(reason)
        return SymbolOutcome(symbol, Action.CLOSE.value, reason, rep.avg_price, rep.filled_qty, req.client_order_id)

    def _submit(self, req: OrderRequest, intent: str) -> OrderReport | None:
        """Record NEW first, then submit; a retryable venue error is retried with the same client id."""
        self.audit.order_new(req, intent, self.clock.now())
        for attempt in range(3):
            try:
                rep = self.broker.place_order(req)
                self.audit.order_update(rep)
                return rep
            except BrokerError as exc:
                self.audit.event("order_error", f"{req.client_order_id}: {exc}", "warning",
                                 {"attempt": attempt + 1, "retryable": exc.retryable})
                if not exc.retryable:
                    break
                existing = self.broker.fetch_order(req.client_order_id)
                if existing is not None:
                    self.audit.order_update(existing)
                    return existing
        return None
