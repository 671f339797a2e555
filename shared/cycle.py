"""The agent cycle, once for both agents: sync with the venue, review risk state, evaluate, exit or enter, record.

What differs between agents is data in AgentSpec (market type, shorts, leverage); venue detail stays behind the
Broker protocol and its MarketInfo capabilities. One cycle (docs/architecture.md has the picture):

  1. venue sync      poll; every working order's report applied through the order lifecycle; fills and funding
                     recorded once; NEW orders the venue never received expire. First cycle after a start, and every
                     `reconcile_every` cycles: full reconciliation (positions adopted/closed/resized, stops re-placed).
  2. operator        pending control requests (pause / resume / stopentry / flatten / killswitch) applied, marked done.
  3. risk state      PortfolioView from the database; RiskEngine.review_state -> ACTIVE / REDUCING / HALTED persisted.
  4. per symbol      flatten if the state says so; else signal -> exits (pure rules on every new candle) for a
                     position, or RiskEngine.plan_entry for a proposal; rejections recorded with rule and numbers.
  5. protection      every futures position has exactly one reduce-only venue stop of its size.
  6. record          trade phases, one decision row per symbol (WAIT included), an equity snapshot.
"""
from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

import numpy as np

from shared.audit.log import AuditLog, DecisionRow
from shared.clock import Clock, from_epoch, iso
from shared.config.profiles import Profile
from shared.execution.accounting import EPS, round_tick
from shared.execution.broker import Broker, BrokerError
from shared.execution.exits import Bar, ExitDecision, ExitRules, PositionState, evaluate_exit
from shared.execution.faults import FaultInjector
from shared.execution.models import (MarketInfo, OrderReport, OrderRequest, OrderStatus, OrderType, PositionReport,
                                     Side)
from shared.execution.portfolio_view import MarketData, PortfolioBuilder
from shared.execution.reconcile import (BookOrder, BookPosition, ReconcileReport, plan_orders, plan_positions,
                                        plan_stops)
from shared.execution.state_store import StateStore, enqueue_alert
from shared.execution.trade_state import PhaseFacts, TradePhase, cooldown_until, derive_phase
from shared.market.candles import Candles
from shared.market.replay import ReplayFeed
from shared.risk.config import RiskConfig
from shared.risk.engine import RiskEngine
from shared.risk.fleet_state import FLEET, TradingMode, TradingState, effective_state
from shared.risk.kill_switch import engage_kill_switch
from shared.risk.views import EntryRequest, HeldPosition, PortfolioView
from shared.signals import indicators
from shared.signals.base import Action, Evaluation, SignalEngine, SymbolContext

log = logging.getLogger(__name__)

RECONCILE_EVERY = 30  # cycles between full reconciliations (TB_RECONCILE_EVERY_CYCLES)
EXIT_BARS_MAX = 500  # candles an exit check looks back at most (an agent down for longer re-checks the newest only)
PROTECTIVE_EXITS = ("stop_loss", "trailing_stop")  # still executed while the operator has paused the agent
EXIT_INTENTS = ("exit", "tp", "flat")


@dataclass(frozen=True)
class AgentSpec:
    name: str
    market: Literal["spot", "futures"]
    allow_short: bool
    profile_setting: str  # the TB_* setting that names this agent's profile


@dataclass
class CycleResult:
    cycle: int
    market_time: datetime
    seconds: float
    equity: float
    outcomes: list[DecisionRow] = field(default_factory=list)
    fills: int = 0
    data_time: datetime | None = None  # close of the newest candle seen: how fresh the feed is
    trading_state: str = "ACTIVE"  # the agent's effective state after this cycle's review
    reconcile: ReconcileReport | None = None


def client_order_id(agent: str, symbol: str, cycle: int, intent: str) -> str:
    """Deterministic id from the decision, so a retry finds the order instead of placing a second one.
    Kept within 36 characters of [A-Za-z0-9-] (the strictest venue rule we target): the symbol part is shortened,
    never the cycle or the intent."""
    compact = "".join(ch for ch in symbol.split(":")[0] if ch.isalnum())
    head, tail = f"tr-{agent[:3]}-", f"-{cycle}-{intent}"
    cid = head + compact[:max(1, 36 - len(head) - len(tail))] + tail
    if len(cid) > 36:
        raise ValueError(f"client order id {cid!r} longer than 36 characters (intent {intent!r} too long)")
    return cid


def _atr(c: Candles, period: int = 14) -> float | None:
    """The last average true range (TA-Lib, Wilder) of `c`; None with too few candles."""
    if len(c) < period + 1:
        return None
    value = float(indicators.atr(c.high, c.low, c.close, period)[-1])
    return value if np.isfinite(value) else None


def _conviction(ev: Evaluation) -> float:
    """The signal library's conviction 0..10 when it reports one; else confidence x 10."""
    c = ev.details.get("conviction")
    if isinstance(c, dict):
        c = c.get("score")
    try:
        return float(c) if c is not None else ev.confidence * 10
    except (TypeError, ValueError):
        return ev.confidence * 10


class AgentCycle:
    def __init__(self, spec: AgentSpec, profile: Profile, leverage: int, feed: ReplayFeed, broker: Broker,
                 engine: SignalEngine, audit: AuditLog, clock: Clock, lookback: int, cycle: int = 0, *,
                 risk: RiskEngine | None = None, market_data: MarketData | None = None,
                 other_agents: tuple[str, ...] = (), reconcile_every: int = RECONCILE_EVERY,
                 faults: FaultInjector | None = None) -> None:
        self.spec, self.profile, self.leverage = spec, profile, leverage
        self.feed, self.broker, self.engine, self.audit, self.clock = feed, broker, engine, audit, clock
        self.lookback = lookback
        self.cycle = cycle
        self.futures = spec.market == "futures"
        self.risk = risk or RiskEngine(RiskConfig(), profile)
        self.rules = ExitRules.from_profile(profile)
        self.store = StateStore(audit.conn, spec.name)
        self.data = market_data or MarketData({s: feed for s in feed.symbols})
        self.portfolio = PortfolioBuilder(spec.name, audit, self.store, self.data, other_agents,
                                          self.risk.cfg.kelly.lookback_trades)
        self.reconcile_every = reconcile_every
        self.faults = faults or FaultInjector(spec.name, None, env={})
        self.recovered = False
        self._newest_data: datetime | None = None
        self._ids: set[str] = set()
        self._phases: dict[str, TradePhase] = {}
        self._view: PortfolioView | None = None
        self._drawdown = 0.0  # this agent's drawdown from its peak, % (the signal library's risk state)
        self._flatten: str = ""  # why every position is being closed this cycle ("" = not)
        self._control = "RUN"
        self._working: list[sqlite3.Row] = []

    # -- orders ------------------------------------------------------------------------------------------
    def _cid(self, symbol: str, intent: str) -> str:
        """The decision's client id; a second order of the same symbol and intent in one cycle gets a number."""
        cid, n = client_order_id(self.spec.name, symbol, self.cycle, intent), 2
        while cid in self._ids:
            cid, n = client_order_id(self.spec.name, symbol, self.cycle, f"{intent}{n}"), n + 1
        self._ids.add(cid)
        return cid

    def _submit(self, req: OrderRequest, intent: str, note: str) -> OrderReport | None:
        """Record NEW first, then submit; a retryable venue error is retried with the same client id, and a retry
        first asks the venue whether the order arrived (so a timeout never places a second one)."""
        self.audit.order_new(req, intent, self.clock.now(), self.cycle, note)
        self.faults.crash_point("before_submit", intent, req.client_order_id)
        for attempt in range(3):
            try:
                rep = self.broker.place_order(req)
                self.faults.crash_point("after_submit", intent, req.client_order_id)
                self.audit.order_update(rep)
                return rep
            except BrokerError as exc:
                self.audit.event("order_error", f"{req.client_order_id}: {exc}", "warning",
                                 {"attempt": attempt + 1, "retryable": exc.retryable})
                if not exc.retryable:
                    self.audit.order_update(OrderReport(req.client_order_id, req.symbol, req.side, req.type, req.qty,
                                                        OrderStatus.REJECTED, reason=str(exc)))
                    break
                existing = self.broker.fetch_order(req.client_order_id)
                if existing is not None:
                    self.audit.order_update(existing)
                    return existing
        return None

    def _cancel(self, cid: str) -> OrderReport | None:
        try:
            rep = self.broker.cancel_order(cid)
        except BrokerError as exc:
            self.audit.event("order_error", f"cancel {cid}: {exc}", "warning")
            return None
        self.audit.order_update(rep)
        return rep

    # -- venue -> audit --------------------------------------------------------------------------------
    def sync_venue(self, now: datetime, report: ReconcileReport | None = None) -> int:
        """Poll the venue, apply every working order's report, record fills and funding exactly once."""
        report = report if report is not None else ReconcileReport()
        update = self.broker.poll(now)
        plan, cycles = self._order_plan()
        for rep in plan.updates:
            if self.audit.order_update(rep):
                report.applied_orders.append(f"{rep.client_order_id} {rep.status.value}")
        for o in plan.never_sent:
            if (cycles.get(o.client_order_id) or 0) < self.cycle:  # an earlier cycle: its submit is over for good
                if self.audit.order_abandon(o.client_order_id, "never reached the venue (the agent stopped before "
                                            "sending it)", now):
                    report.expired_unsent.append(o.client_order_id)
        for o in plan.lost:
            self.audit.order_abandon(o.client_order_id, "the venue no longer knows this order", now)
            report.notes.append(f"{o.client_order_id}: unknown at the venue, marked EXPIRED")
        applied = self._ingest_fills()
        report.fills_applied += applied
        self._ingest_funding(update.funding)
        return applied

    def _order_plan(self):  # type: ignore[no-untyped-def]
        rows = self.audit.open_orders()
        book = [BookOrder(r["client_order_id"], r["symbol"], OrderStatus(r["status"]), r["intent"] or "") for r in rows]
        plan = plan_orders(book, {o.client_order_id: self.broker.fetch_order(o.client_order_id) for o in book})
        return plan, {r["client_order_id"]: r["cycle"] for r in rows}

    def sync_orders(self) -> None:
        """Apply the venue's report of every order the book thinks is working (no poll): the end of a cycle leaves
        the book as the venue is, e.g. a stop the venue expired when our exit closed its position."""
        plan, _ = self._order_plan()
        for rep in plan.updates:
            self.audit.order_update(rep)

    def _ingest_fills(self) -> int:
        """Record venue fills not yet in the database (by fill id), from the newest recorded one on. The close
        reason comes from the order's note (what the decision said), 'liquidation' for a liquidation."""
        applied = 0
        for fill in self.broker.recent_fills(self.audit.last_fill_market_ts()):
            ours = self.audit.order_row(fill.client_order_id) is not None
            if self.audit.apply_fill(fill, self.futures, self.leverage):
                applied += 1
                log.info("fill %s %s %.8g @ %.8g fee %.4f pnl %.4f (%s)", fill.symbol, fill.side.value, fill.qty,
                         fill.price, fill.fee, fill.realized_pnl, fill.client_order_id)
                if fill.kind == "liquidation":
                    msg = (f"{fill.symbol} liquidated: {fill.qty:.8g} @ {fill.price:.8g}, PnL "
                           f"{fill.realized_pnl - fill.fee:.2f} (the isolated margin)")
                    self.audit.event("liquidation", msg, "critical", {"fill_id": fill.fill_id})
                    enqueue_alert(self.audit.conn, "critical", "liquidation", f"{self.spec.name}: {fill.symbol} "
                                  "liquidated", msg, agent=self.spec.name)
                elif not ours:
                    msg = (f"{fill.symbol}: fill of an order this agent did not place ({fill.client_order_id}: "
                           f"{fill.side.value} {fill.qty:.8g} @ {fill.price:.8g}); the book follows the venue")
                    self.audit.event("reconcile", msg, "warning", {"fill_id": fill.fill_id})
                    enqueue_alert(self.audit.conn, "warning", "reconcile", f"{self.spec.name}: external fill "
                                  f"{fill.symbol}", msg, agent=self.spec.name)
        return applied

    def _ingest_funding(self, polled: list) -> None:  # type: ignore[type-arg]
        """Funding payments once (unique per agent, symbol, time): from the venue's history when it keeps one (a
        crash between poll and record loses nothing), else from this poll's update."""
        recent = getattr(self.broker, "recent_funding", None)
        if recent is None:
            for p in polled:
                self.audit.apply_funding(p)
            return
        row = self.audit.conn.execute("SELECT max(market_ts) FROM funding_payments WHERE agent=?",
                                      (self.spec.name,)).fetchone()
        since = datetime.fromisoformat(row[0].replace("Z", "+00:00")).timestamp() if row and row[0] else 0.0
        for p in recent(since):
            self.audit.apply_funding(p)

    # -- recovery and reconciliation -----------------------------------------------------------------------
    def recover(self, now: datetime) -> ReconcileReport:
        """On start: rebuild from the database (positions, working orders, phases, risk and operator state, the
        cycle number), then reconcile with the venue. Recorded as one 'recovery' event."""
        positions = self.audit.open_positions()
        working = self.audit.open_orders()
        self._phases = self.store.phases()
        states = {scope: self.store.risk_state(scope, now) for scope in (self.spec.name, FLEET)}
        control = self.store.control_mode()
        report = ReconcileReport()
        self.sync_venue(now, report)
        self.reconcile(now, report)
        self.recovered = True
        rebuilt = {"cycle": self.cycle, "positions": [f"{r['symbol']} {r['side']} {r['qty']:.8g}" for r in positions],
                   "working_orders": [r["client_order_id"] for r in working],
                   "phases": {k: v.value for k, v in self._phases.items() if v is not TradePhase.WAIT},
                   "states": {k: v.mode.value for k, v in states.items()}, "control": control}
        severity = "warning" if (report.adopted or report.closed or report.resized or report.notes) else "info"
        msg = (f"recovered {len(positions)} positions, {len(working)} working orders, state "
               f"{states[self.spec.name].mode.value}/fleet {states[FLEET].mode.value}, control {control}; "
               f"reconciliation: {report.summary()}")
        self.audit.event("recovery", msg, severity, {"rebuilt": rebuilt, "reconcile": report.to_dict(),
                                                     "market_ts": iso(now)})
        log.info("%s", msg)
        return report

    def reconcile(self, now: datetime, report: ReconcileReport | None = None) -> ReconcileReport:
        """Positions and protective stops against the venue's reports (shared.execution.reconcile)."""
        report = report if report is not None else ReconcileReport()
        venue = self.broker.positions()
        book = [BookPosition(r["id"], r["symbol"], (1 if r["side"] == "BUY" else -1) * r["qty"], r["entry_price"])
                for r in self.audit.open_positions()]
        plan = plan_positions(book, venue, lambda s: self.broker.market(s).lot_step)
        for p in plan.adopt:
            note = (f"adopted a venue position our book lacked: {p.symbol} {p.qty:+.8g} @ {p.entry_price:.8g} "
                    f"(leverage {p.leverage})")
            self.audit.adopt_position(p, now, note)
            enqueue_alert(self.audit.conn, "warning", "reconcile", f"{self.spec.name}: adopted {p.symbol}", note,
                          agent=self.spec.name, data={"symbol": p.symbol, "qty": p.qty})
            report.adopted.append(p.symbol)
        for b in plan.vanished:
            price = self._last_price(b.symbol) or b.entry_price
            reason = (f"closed at the venue while not watched (no fill reported); PnL estimated at the last price "
                      f"{price:.8g}")
            pnl = self.audit.close_position_unreported(b.id, price, now, reason)
            self.audit.event("reconcile", f"{b.symbol}: {reason}", "warning", {"pnl": pnl})
            enqueue_alert(self.audit.conn, "warning", "reconcile", f"{self.spec.name}: {b.symbol} gone at the venue",
                          reason, agent=self.spec.name)
            report.closed.append(b.symbol)
        for b, p in plan.resize:
            self.audit.resize_position(b.id, p, f"{b.symbol}: book size {b.qty:+.8g} -> venue size {p.qty:+.8g}")
            report.resized.append(b.symbol)
        self.ensure_protective_stops(now, report)
        if report.changed and self.recovered:
            self.audit.event("reconcile", report.summary(), "warning" if (report.adopted or report.closed) else "info",
                             report.to_dict())
        return report

    def _last_price(self, symbol: str) -> float | None:
        try:
            return self.broker.last_price(symbol)
        except BrokerError:
            return None

    def ensure_protective_stops(self, now: datetime, report: ReconcileReport | None = None) -> None:
        """Every position on a market with exchange-side stops carries exactly one reduce-only stop of its size."""
        positions = self.broker.positions()
        plan = plan_stops(positions, self.broker.open_orders(), lambda s: self.broker.market(s).exchange_stops,
                          lambda s: self.broker.market(s).lot_step)
        if plan.clean:
            return
        for o in plan.orphans:
            if self._cancel(o.client_order_id) is not None and report is not None:
                report.stops_canceled.append(o.client_order_id)
        todo = list(plan.missing)
        for p, stops in plan.replace:
            for o in stops:
                if self._cancel(o.client_order_id) is not None and report is not None:
                    report.stops_canceled.append(o.client_order_id)
            todo.append(p)
        for p in todo:
            cid = self._place_stop(p, now, "rstop")
            if cid and report is not None:
                report.stops_placed.append(cid)

    def _stop_price(self, p: PositionReport, market: MarketInfo) -> float | None:
        """The stop planned at entry (positions.stop_price) when it still lies between liquidation and entry, else
        RiskEngine.protective_stop for the position as it stands."""
        book = self.audit.open_position(p.symbol)
        d = p.side.sign
        stored = book["stop_price"] if book is not None else None
        if stored and (p.entry_price - stored) * d > 0 and (p.liquidation_price is None or
                                                            (stored - p.liquidation_price) * d > 0):
            return float(stored)
        base = self.feed.candles(p.symbol, self.clock.now(), 50) if p.symbol in self.feed.symbols else None
        plan = self.risk.protective_stop(p.side, p.entry_price, market, p.leverage or self.leverage,
                                         _atr(base) if base is not None else None)
        if plan.price is not None and book is not None:
            self.audit.update_exit_state(book["id"], stop_price=plan.price)
        return plan.price

    def _place_stop(self, p: PositionReport, now: datetime, intent: str) -> str | None:
        market = self.broker.market(p.symbol)
        stop = self._stop_price(p, market)
        if stop is None:
            self.audit.event("risk", f"{p.symbol}: no valid protective stop for {p.qty:+.8g} @ {p.entry_price:.8g}",
                             "error")
            return None
        last = self._last_price(p.symbol)
        if last is not None and (last - stop) * p.side.sign <= 0:  # already beyond it: a stop would fill at once
            reason = f"stop loss: price {last:.8g} already beyond the protective stop {stop:.8g} (stop was missing)"
            self._close(p.symbol, p, last, reason, "exit")
            return None
        req = OrderRequest(self._cid(p.symbol, intent), p.symbol, p.side.opposite(), OrderType.STOP_MARKET, abs(p.qty),
                           stop_price=stop, reduce_only=True)
        rep = self._submit(req, "stop", f"stop loss (venue stop at {stop:.8g})")
        if rep is None or rep.status is OrderStatus.REJECTED:
            self.audit.event("risk", f"{p.symbol}: protective stop {stop:.8g} not accepted: "
                             f"{rep.reason if rep else 'venue error'}", "error")
            return None
        return req.client_order_id

    # -- operator control requests ----------------------------------------------------------------------
    def apply_control_requests(self, now: datetime, equity: float) -> list[str]:
        """Apply pending /pause /resume /stopentry /flatten /killswitch requests for this agent, mark each done."""
        try:
            from shared.notify.control import complete_control_request, pending_control_requests
        except ImportError:  # pragma: no cover - the notify package is optional here
            return []
        try:
            pending = pending_control_requests(self.audit.conn, self.spec.name)
        except sqlite3.OperationalError:  # an old schema without control_requests
            return []
        done = []
        for req in pending:
            status, result = self._control_request(req, now, equity)
            complete_control_request(self.audit.conn, req.id, status=status, result=result)
            msg = f"/{req.command} by {req.requested_by} (request #{req.id}): {status}: {result}"
            self.audit.event("control", msg, "warning" if status == "rejected" else "info",
                             {"request_id": req.id, "command": req.command, "status": status})
            log.warning("%s", msg)
            done.append(msg)
        return done

    def _control_request(self, req: Any, now: datetime, equity: float) -> tuple[str, str]:
        cmd, who = req.command, req.requested_by
        if cmd == "pause":
            self.store.set_control_mode("PAUSED", who, req.id, now)
            return "done", "paused: no entries and no signal exits; stop losses keep protecting open positions"
        if cmd == "stopentry":
            self.store.set_control_mode("STOPENTRY", who, req.id, now)
            return "done", "entries stopped; exits continue"
        if cmd == "resume":
            ks = self.risk.kill_switch()
            if ks.active:
                return "rejected", f"cannot resume: {ks.reason}; remove the file first"
            self.store.set_control_mode("RUN", who, req.id, now)
            resumed = []
            for scope in (self.spec.name, FLEET):
                st = self.store.risk_state(scope, now)
                if st.mode is TradingMode.ACTIVE:
                    continue
                tr = self.risk.resume(st, who, now, note=f"control request #{req.id}")
                if tr.event is not None and self.store.save_transition(tr.event, now):
                    scope_equity = equity if scope != FLEET else self.portfolio.fleet_equity(equity)
                    self.store.rebase_marks(scope, scope_equity, now)
                    resumed.append(f"{scope} {st.mode.value} -> ACTIVE")
            return "done", "running" + (f"; {', '.join(resumed)} (peak and day start measured from now)"
                                        if resumed else "")
        if cmd == "flatten":
            self._flatten = f"flatten: operator request #{req.id} by {who}"
            n = len(self.broker.positions())
            return "done", f"closing {n} open position{'s' if n != 1 else ''} this cycle"
        if cmd == "killswitch":
            ks = self.risk.kill_switch()
            if not ks.active:
                engage_kill_switch(ks.path, f"/killswitch request #{req.id}", now, who)
            return "done", f"kill switch file {ks.path} present: HALTED this cycle"
        return "rejected", f"unknown command {cmd!r}"

    # -- risk state ------------------------------------------------------------------------------------------
    def review_risk(self, now: datetime) -> TradingState:
        """Build the PortfolioView, run the state machine, persist transitions; returns the effective state."""
        balance = self.broker.balance()
        states = {scope: self.store.risk_state(scope, now) for scope in (self.spec.name, FLEET)}
        snap = self.portfolio.build(now, balance, self.broker.positions(), states[self.spec.name], states[FLEET])
        review = self.risk.review_state(snap.view)
        for tr in (review.agent, review.fleet):
            if tr.event is None:
                states[tr.state.scope] = tr.state
            elif self.store.save_transition(tr.event, now):
                log.warning("risk state %s", tr.event.message)
                states[tr.state.scope] = tr.state
            else:  # the other agent recorded this scope's change first
                states[tr.state.scope] = self.store.risk_state(tr.state.scope, now)
        self._view = replace(snap.view, agent_state=states[self.spec.name], fleet_state=states[FLEET])
        self._drawdown = snap.drawdown_pct
        eff = effective_state(states[self.spec.name], states[FLEET])
        if eff.flatten and not self._flatten:
            self._flatten = f"flatten: {eff.scope} {eff.mode.value} [{eff.rule}] {eff.reason}"
        return eff

    # -- one cycle -------------------------------------------------------------------------------------
    def run_once(self) -> CycleResult:
        started = time.monotonic()
        self.cycle += 1
        self._ids = set()
        self._flatten = ""
        now = self.clock.now()
        report = None
        if not self.recovered:
            report = self.recover(now)
            fills = report.fills_applied
        else:
            fills = self.sync_venue(now)
            if self.reconcile_every and self.cycle % self.reconcile_every == 0:
                report = self.reconcile(now)
        self.apply_control_requests(now, self.broker.balance().equity)
        self._control = self.store.control_mode()
        eff = self.review_risk(now)
        positions = {p.symbol: p for p in self.broker.positions()}
        self._working = self.audit.open_orders()
        result = CycleResult(self.cycle, now, 0.0, 0.0, fills=fills, trading_state=eff.mode.value, reconcile=report)
        self._newest_data = None
        data_end = self.feed.data_end()
        for symbol in self.feed.symbols:
            if now >= data_end:
                outcome = DecisionRow(symbol, Action.WAIT.value,
                                        f"replay reached the end of bundled data ({data_end:%Y-%m-%d})")
            else:
                outcome = self._decide(symbol, now, positions.get(symbol), eff)
            if outcome.client_order_id:
                positions = {p.symbol: p for p in self.broker.positions()}
            result.outcomes.append(outcome)
        if self.futures:
            self.ensure_protective_stops(now)
        self.sync_orders()
        self._record_phases(now, result.outcomes)
        self.audit.decisions(self.cycle, now, result.outcomes)
        balance = self.broker.balance()
        held = self.broker.positions()
        self.audit.equity(now, balance.equity, balance.cash, sum(p.unrealized_pnl for p in held), len(held))
        result.equity = balance.equity
        result.data_time = self._newest_data
        result.seconds = time.monotonic() - started
        return result

    def _record_phases(self, now: datetime, outcomes: list[DecisionRow]) -> None:
        working = self.audit.open_orders()
        held = {p.symbol: p for p in self.broker.positions()}
        closes = {r[0]: datetime.fromisoformat(r[1].replace("Z", "+00:00")) for r in self.audit.conn.execute(
            "SELECT symbol, max(closed_market_ts) FROM positions WHERE agent=? AND status='CLOSED' GROUP BY symbol",
            (self.spec.name,)) if r[1]}
        for o in outcomes:
            facts = PhaseFacts(o.symbol in held,
                               any(w["symbol"] == o.symbol and w["intent"] == "entry" for w in working),
                               any(w["symbol"] == o.symbol and w["intent"] in EXIT_INTENTS for w in working),
                               closes.get(o.symbol), self.rules.cooldown_minutes)
            phase = derive_phase(facts, now)
            old = self._phases.get(o.symbol)
            if phase is not old:
                book = self.audit.open_position(o.symbol) if facts.has_position else None
                self.store.set_phase(o.symbol, phase, now, o.reason, old, book["id"] if book else None,
                                     cooldown_until(facts) if phase is TradePhase.COOLDOWN else None)
                self._phases[o.symbol] = phase
            o.details["trade_phase"] = phase.value

    # -- per symbol ------------------------------------------------------------------------------------
    def _decide(self, symbol: str, now: datetime, position: PositionReport | None, state: TradingState) -> DecisionRow:
        base = self.feed.candles(symbol, now, self.lookback)
        if len(base) == 0:
            return DecisionRow(symbol, Action.WAIT.value, "no closed candle yet")
        self._newest_data = max(self._newest_data or base.close_time(-1), base.close_time(-1))
        price = float(base.close[-1])
        market = self.broker.market(symbol)
        entry_order = next((w for w in self._working if w["symbol"] == symbol and w["intent"] == "entry"), None)
        entries_blocked = self._entries_blocked(state)
        if entry_order is not None:
            self._manage_entry_order(entry_order, now, entries_blocked)
            position = next((p for p in self.broker.positions() if p.symbol == symbol), None)
        if self._flatten and position is not None:
            out = self._close(symbol, position, price, self._flatten, "flat")
            out.details["risk_state"] = state.mode.value
            return out
        funding = self.feed.funding(symbol)
        frames = {base.timeframe: base}
        for tf in self.engine.timeframes:
            frames[tf] = self.feed.candles(symbol, now, self.lookback, tf)
        ctx = SymbolContext(symbol, now, frames, base.timeframe, position, self.spec.allow_short,
                            equity=self._view.account.equity if self._view else 0.0,
                            drawdown_pct=self._drawdown,
                            funding_rate=funding.latest(now.timestamp()) if funding else None)
        ev = self.engine.evaluate(ctx)
        if position is not None:
            outcome = self._manage_position(symbol, position, base, ev, market, price)
        else:
            outcome = self._consider_entry(symbol, ev, base, market, price, now, state, entries_blocked,
                                           entry_order is not None and entry_order["status"] != "NEW")
        outcome.details = {**ev.details, "confidence": round(ev.confidence, 3), "strategy": ev.strategy,
                           "signal": ev.action.value, **outcome.details}
        return outcome

    def _entries_blocked(self, state: TradingState) -> tuple[str, str] | None:
        """(rule, reason) when no entry may be made: a flatten this cycle, the operator's standing order, the risk
        state (the risk engine's own trading_state rule records that one with its numbers)."""
        if self._flatten and state.allows_entries:  # an operator /flatten (a risk-state flatten is trading_state)
            return "flatten", self._flatten
        if self._control == "PAUSED":
            return "operator_pause", "paused by the operator (/resume to continue)"
        if self._control == "STOPENTRY":
            return "operator_stopentry", "entries stopped by the operator (/resume to continue)"
        if not state.allows_entries:
            return "trading_state", f"{state.scope} {state.mode.value}: {state.reason}"
        return None

    def _manage_entry_order(self, row: sqlite3.Row, now: datetime, blocked: tuple[str, str] | None) -> None:
        """A working (limit) entry: cancel what is left when entries are blocked or it has waited too long."""
        created = self.broker.fetch_order(row["client_order_id"])
        if created is None or created.status not in (OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED):
            return
        age_min = (now.timestamp() - created.created_at) / 60
        timeout = self.profile.execution.entry_timeout_minutes
        if blocked is None and age_min < timeout:
            return
        self._cancel(row["client_order_id"])
        why = blocked[1] if blocked else f"entry order waited {age_min:.0f} min >= {timeout:g}"
        self.audit.event("order", f"{row['client_order_id']}: rest canceled ({why})", "info")

    def _exit_state(self, book: sqlite3.Row, position: PositionReport) -> PositionState:
        entry = float(book["entry_price"])
        qty = abs(position.qty)
        opened = datetime.fromisoformat(book["opened_market_ts"].replace("Z", "+00:00")).timestamp()
        return PositionState(1 if position.qty > 0 else -1, entry, qty, max(float(book["peak_qty"] or 0), qty), opened,
                             float(book["high_watermark"] or entry), float(book["low_watermark"] or entry),
                             int(book["tp_tiers_done"] or 0), book["stop_price"])

    def _manage_position(self, symbol: str, position: PositionReport, base: Candles, ev: Evaluation,
                         market: MarketInfo, price: float) -> DecisionRow:
        """Run the exit rules over every candle closed since the last check (the signal counts on the newest one);
        act on the first that triggers. The position's exit state is stored whatever happens."""
        book = self.audit.open_position(symbol)
        side = "long" if position.qty > 0 else "short"
        if book is None:
            return DecisionRow(symbol, "HOLD", f"venue holds {side} {abs(position.qty):.8g} that the book lacks "
                                 "(reconciliation adopts it)", price)
        state = self._exit_state(book, position)
        checked = book["exit_checked_ts"]
        start = checked + 1 if checked is not None else state.opened_at - 1
        idx = [i for i in range(max(0, len(base) - EXIT_BARS_MAX), len(base)) if base.open_time[i] >= start]
        decision: ExitDecision | None = None
        last_checked = checked
        for k, i in enumerate(idx):
            bar = Bar(float(base.open_time[i]), float(base.open_time[i] + base.seconds), float(base.open[i]),
                      float(base.high[i]), float(base.low[i]), float(base.close[i]))
            d = evaluate_exit(state, bar, self.rules, ev.action.value if k == len(idx) - 1 else None, market.lot_step)
            if d.exits:
                decision = d
                trigger_ts = bar.open_time
                break
            state, last_checked = d.state, bar.open_time

        def store(st: PositionState, checked_ts: float | None) -> None:
            self.audit.update_exit_state(book["id"], high_watermark=st.high_watermark, low_watermark=st.low_watermark,
                                         peak_qty=st.peak_qty, tp_tiers_done=st.tp_tiers_done, exit_checked_ts=checked_ts)

        if decision is None:
            store(state, last_checked)
            return DecisionRow(symbol, "HOLD", f"holding {side} {abs(position.qty):.8g} @ {state.entry_price:.8g} "
                                 f"({state.gain_pct(price):+.2f}%); {ev.reason}", price,
                                 details={"exit": {"rule": "", "tp_tiers_done": state.tp_tiers_done,
                                                   "high_watermark": state.high_watermark,
                                                   "low_watermark": state.low_watermark}})
        details = {"exit": {"rule": decision.rule, "trigger_price": decision.price,
                            "trigger_candle": iso(from_epoch(trigger_ts)), **decision.numbers}}
        if self._control == "PAUSED" and decision.rule not in PROTECTIVE_EXITS:
            store(replace(decision.state, tp_tiers_done=state.tp_tiers_done), trigger_ts)  # this candle passes
            return DecisionRow(symbol, "HOLD", f"paused by the operator: not acting on '{decision.reason}'", price,
                                 details=details)
        remaining = abs(position.qty) - decision.qty
        full = decision.full or remaining < market.lot_step / 2 or remaining * price < market.min_notional
        out = self._close(symbol, position, price, decision.reason, "exit" if full else "tp",
                          None if full else decision.qty)
        if out.action == Action.PARTIAL_CLOSE.value:
            store(decision.state, trigger_ts)
        elif out.action != Action.CLOSE.value:  # the close failed: check the triggering candle again next cycle
            store(state, last_checked)
        out.details.update(details)
        return out

    def _consider_entry(self, symbol: str, ev: Evaluation, base: Candles, market: MarketInfo, price: float,
                        now: datetime, state: TradingState, blocked: tuple[str, str] | None,
                        entry_working: bool) -> DecisionRow:
        if ev.action is Action.SELL and not self.spec.allow_short:
            return DecisionRow(symbol, Action.WAIT.value, f"{ev.reason}; long only, no short", price)
        if ev.action not in (Action.BUY, Action.SELL):
            why = f"{ev.reason}; nothing to close" if ev.action in (Action.CLOSE, Action.PARTIAL_CLOSE) else ev.reason
            return DecisionRow(symbol, Action.WAIT.value, why, price)
        side = Side.BUY if ev.action is Action.BUY else Side.SELL
        if entry_working:
            return DecisionRow(symbol, Action.WAIT.value, f"{ev.reason}; an entry order is already working", price)
        last = self.audit.last_close(symbol)
        if last is not None and self.rules.cooldown_minutes > 0:
            until = cooldown_until(PhaseFacts(False, last_close=last, cooldown_minutes=self.rules.cooldown_minutes))
            if until is not None and now < until:
                left = (until - now).total_seconds() / 60
                return DecisionRow(symbol, Action.WAIT.value, f"{ev.reason}; cooldown after the last close until "
                                     f"{until:%Y-%m-%d %H:%M}Z ({left:.0f} min left)", price,
                                     details={"risk": {"rule": "cooldown", "allowed": False,
                                                       "reason": "re-entry cooldown", "numbers": {
                                                           "last_close": iso(last), "cooldown_until": iso(until),
                                                           "cooldown_minutes": self.rules.cooldown_minutes,
                                                           "minutes_left": round(left, 2)}}})
        if blocked is not None and blocked[0] != "trading_state":
            return DecisionRow(symbol, Action.WAIT.value, f"{ev.reason}; rejected [{blocked[0]}] {blocked[1]}", price,
                                 details={"risk": {"rule": blocked[0], "allowed": False, "reason": blocked[1],
                                                   "numbers": {"control": self._control}}})
        atr = ev.details.get("atr")
        atr = float(atr) if isinstance(atr, (int, float)) and atr > 0 else _atr(base)
        funding = self.feed.funding(symbol)
        assert self._view is not None
        req = EntryRequest(symbol, side, price, _conviction(ev), market, self.data.cluster(symbol), atr,
                           funding.latest(now.timestamp()) if funding else None,
                           self.leverage if self.futures else None, str(ev.details.get("risk_state", "SAFE")))
        plan = self.risk.plan_entry(req, self._view)
        details = plan.details()
        if not plan.allowed:
            v = plan.verdict
            return DecisionRow(symbol, Action.WAIT.value, f"{ev.reason}; risk rejected [{v.rule}] {v.reason}", price,
                                 details=details)
        return self._open(symbol, side, plan.qty, plan.leverage, plan.stop.price, atr, ev.reason, price, market, base,
                          details)

    def _open(self, symbol: str, side: Side, qty: float, leverage: int, stop_price: float | None, atr: float | None,
              reason: str, price: float, market: MarketInfo, base: Candles, details: dict) -> DecisionRow:
        action = Action.BUY.value if side is Side.BUY else Action.SELL.value
        if self.futures:
            try:
                set_mode = getattr(self.broker, "set_margin_mode", None)  # venues that also offer cross margin
                if set_mode is not None:
                    set_mode(symbol, self.risk.cfg.futures.margin_mode)
                self.broker.set_leverage(symbol, leverage)
            except BrokerError as exc:
                return DecisionRow(symbol, Action.WAIT.value, f"{reason}; leverage {leverage}x refused: {exc}", price,
                                     details=details)
        ex = self.profile.execution
        if ex.entry_order == "limit":
            limit = round_tick(price * (1 - side.sign * ex.limit_offset_bps / 10_000), market.tick_size)
            req = OrderRequest(self._cid(symbol, "entry"), symbol, side, OrderType.LIMIT, qty, price=limit,
                               leverage=leverage if self.futures else None)
        else:
            req = OrderRequest(self._cid(symbol, "entry"), symbol, side, OrderType.MARKET, qty,
                               leverage=leverage if self.futures else None)
        rep = self._submit(req, "entry", f"entry: {reason}")
        details = {**details, "entry_order": req.type.value}
        if rep is None or (rep.status not in (OrderStatus.FILLED, OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED)):
            why = rep.reason if rep else "venue error"
            return DecisionRow(symbol, Action.WAIT.value, f"{reason}; order not placed: {why}", price, qty,
                                 req.client_order_id, details)
        if self._view is not None:
            self._view = replace(self._view, trades_today=self._view.trades_today + 1,
                                 trades_this_hour=self._view.trades_this_hour + 1,
                                 positions=self._view.positions + (HeldPosition(
                                     self.spec.name, symbol, side.sign * qty, price, self.data.cluster(symbol)),))
        if rep.filled_qty <= EPS:
            return DecisionRow(symbol, action, f"{reason}; limit {side.value} {qty:.8g} @ {req.price:.8g} working",
                                 price, qty, req.client_order_id, details)
        self._ingest_fills()
        self.faults.crash_point("after_entry_fill", "entry", req.client_order_id)
        book = self.audit.open_position(symbol)
        venue = next((p for p in self.broker.positions() if p.symbol == symbol), None)
        stop = self.risk.protective_stop(side, rep.avg_price or price, market, leverage, atr)
        if book is not None:
            self.audit.update_exit_state(book["id"], stop_price=stop.price or stop_price,
                                         exit_checked_ts=float(base.open_time[-1]))
        if market.exchange_stops and venue is not None and stop.price:
            req_stop = OrderRequest(self._cid(symbol, "stop"), symbol, side.opposite(), OrderType.STOP_MARKET,
                                    abs(venue.qty), stop_price=stop.price, reduce_only=True)
            self._submit(req_stop, "stop", f"stop loss (venue stop at {stop.price:.8g})")
            details["stop"]["placed"] = req_stop.client_order_id
        filled = "" if rep.status is OrderStatus.FILLED else f" (partial: {rep.filled_qty:.8g} of {qty:.8g})"
        return DecisionRow(symbol, action, f"{reason}; {details['risk']['reason']}{filled}", rep.avg_price,
                             rep.filled_qty, req.client_order_id, details)

    def _close(self, symbol: str, position: PositionReport, price: float, reason: str, intent: str,
               qty: float | None = None) -> DecisionRow:
        """Close the position at market (all, or `qty` of it); a full close cancels its reduce-only orders."""
        side = Side.SELL if position.qty > 0 else Side.BUY
        q = abs(position.qty) if qty is None else qty
        req = OrderRequest(self._cid(symbol, intent), symbol, side, OrderType.MARKET, q, reduce_only=self.futures)
        rep = self._submit(req, intent, reason)
        if rep is None or rep.status is not OrderStatus.FILLED:
            return DecisionRow(symbol, "HOLD", f"{reason}; close failed: {rep.reason if rep else 'venue error'}",
                                 price)
        if qty is None:
            for order in self.broker.open_orders():  # a protective stop is pointless once flat
                if order.symbol == symbol and order.reduce_only:
                    self._cancel(order.client_order_id)
        self._ingest_fills()
        action = Action.CLOSE.value if qty is None else Action.PARTIAL_CLOSE.value
        return DecisionRow(symbol, action, reason, rep.avg_price, rep.filled_qty, req.client_order_id)

