"""The risk facade the agent cycle calls: plan/check/size one entry, compute the protective stop, review the
ACTIVE/REDUCING/HALTED state of the agent and the fleet. Pure apart from reading the kill switch file."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.config.profiles import Profile
from shared.config.settings import PROJECT_ROOT
from shared.execution.models import MarketInfo, Side
from shared.risk.config import RiskConfig
from shared.risk.fleet_state import StateMachine, TradingState, Transition, StateEvent, check_trading_state, effective_state
from shared.risk.futures_guard import (StopPlan, cap_leverage, check_funding, check_liquidation_distance,
                                       check_margin_mode, entry_liquidation_price, protective_stop_price)
from shared.risk.kelly import kelly_estimate
from shared.risk.kill_switch import KillSwitchStatus, read_kill_switch
from shared.risk.limits import (check_cluster_exposure, check_daily_loss, check_drawdown, check_loss_cooldown,
                                check_open_positions, check_trade_frequency, choose_bucket, loss_pct)
from shared.risk.sizing import SizeResult, size_position
from shared.risk.var import check_correlation, check_var
from shared.risk.verdict import RiskVerdict, first_rejection
from shared.risk.views import EntryRequest, PortfolioView


@dataclass(frozen=True)
class EntryPlan:
    """Everything the cycle needs to place (or skip) one entry and record why."""

    verdict: RiskVerdict
    size: SizeResult | None
    stop: StopPlan
    leverage: int
    margin_mode: str | None  # "isolated" on futures, None on spot

    @property
    def allowed(self) -> bool:
        return self.verdict.allowed

    @property
    def qty(self) -> float:
        return self.size.qty if (self.allowed and self.size) else 0.0

    def details(self) -> dict[str, Any]:
        """For the decision row: the verdict with every check, the size with every intermediate number, the stop."""
        return {"risk": self.verdict.to_dict(), "size": self.size.to_dict() if self.size else None,
                "stop": {"price": self.stop.price, "method": self.stop.method, "distance_pct": self.stop.distance_pct,
                         "liquidation_price": self.stop.liquidation_price, "reason": self.stop.reason},
                "leverage": self.leverage, "margin_mode": self.margin_mode}


@dataclass(frozen=True)
class StateReview:
    agent: Transition
    fleet: Transition
    kill_switch: KillSwitchStatus

    @property
    def events(self) -> tuple[StateEvent, ...]:
        return tuple(t.event for t in (self.agent, self.fleet) if t.event is not None)

    @property
    def effective(self) -> TradingState:
        return effective_state(self.agent.state, self.fleet.state)

    @property
    def flatten(self) -> bool:
        return self.effective.flatten


class RiskEngine:
    """One per agent: the fleet-wide risk configuration plus this agent's profile (per-trade max, max open
    positions, stop-loss %, leverage)."""

    def __init__(self, config: RiskConfig, profile: Profile, kill_switch_path: Path | None = None) -> None:
        """`kill_switch_path` overrides config.state.kill_switch_path; a relative config path is resolved against
        the project root (pass config.kill_switch_file(settings.root) when TB_ROOT differs)."""
        self.cfg = config
        self.profile = profile
        self.kill_switch_path = kill_switch_path or config.kill_switch_file(PROJECT_ROOT)
        self.machine = StateMachine(config.state)

    # -- small pieces ------------------------------------------------------------------------------------
    def kill_switch(self) -> KillSwitchStatus:
        return read_kill_switch(self.kill_switch_path)

    def leverage_for(self, market: MarketInfo, requested: int | None = None) -> tuple[int, str]:
        if market.market != "futures":
            return 1, "spot: no leverage"
        return cap_leverage(requested or self.profile.leverage, self.cfg.futures.max_leverage, market.max_leverage)

    def protective_stop(self, side: Side, entry: float, market: MarketInfo, leverage: int,
                        atr: float | None = None) -> StopPlan:
        """The reduce-only stop for a position entered at `entry` (call again with the fill's average price)."""
        liq = entry_liquidation_price(side, entry, leverage, market.maintenance_margin_rate) \
            if market.market == "futures" else None
        return protective_stop_price(side, entry, market.tick_size, self.profile.risk.stop_loss_pct, atr, liq,
                                     self.cfg.futures)

    # -- sizing ------------------------------------------------------------------------------------------
    def _drawdowns(self, view: PortfolioView) -> list[tuple[float, float]]:
        lim = self.cfg.limits
        return [(loss_pct(max(view.account.peak_equity, view.account.equity), view.account.equity), lim.max_drawdown_pct),
                (loss_pct(max(view.fleet.peak_equity, view.fleet.equity), view.fleet.equity), lim.fleet_max_drawdown_pct)]

    def size_entry(self, req: EntryRequest, view: PortfolioView, stop: StopPlan | None = None) -> SizeResult:
        lev, _ = self.leverage_for(req.market, req.leverage)
        stop = stop or self.protective_stop(req.side, req.price, req.market, lev, req.atr)
        bucket, why = choose_bucket(req.bucket, req.risk_state, self._drawdowns(view), self.cfg.limits)
        kelly = kelly_estimate(view.closed_pnls, self.cfg.kelly)
        return size_position(
            equity=view.account.equity, price=req.price, conviction=req.conviction, market=req.market,
            max_position_pct=self.profile.risk.max_position_pct, leverage=lev,
            stop_distance_pct=stop.distance_pct if stop.distance_pct else self.profile.risk.stop_loss_pct,
            kelly=kelly, bucket=bucket, bucket_reason=why, cfg=self.cfg.sizing, free=view.account.free,
            downgraded=bucket != req.bucket)

    # -- checks ------------------------------------------------------------------------------------------
    def _gate_checks(self, req: EntryRequest, view: PortfolioView, lev: int) -> list[RiskVerdict]:
        lim = self.cfg.limits
        ks = self.kill_switch()
        checks = [check_trading_state(view.state_of_agent(), view.state_of_fleet()),
                  RiskVerdict.reject("kill_switch", ks.reason, path=str(ks.path)) if ks.active
                  else RiskVerdict.ok("kill_switch", "no kill switch file", path=str(ks.path))]
        if req.market.market == "spot" and req.side is Side.SELL:
            checks.append(RiskVerdict.reject("long_only", "spot is long only: no short entries", side=req.side.value))
        mine = view.agent_positions
        checks += [
            check_loss_cooldown(view.closed_pnls, view.last_loss_close, view.now, lim),
            check_trade_frequency(view.trades_today, view.trades_this_hour, lim),
            check_open_positions(len(mine), len(view.positions), self.profile.risk.max_open_positions,
                                 lim.max_fleet_positions, adds_position=all(p.symbol != req.symbol for p in mine)),
            check_daily_loss(view.account.equity, view.account.day_start_equity, lim.daily_loss_limit_pct),
            check_drawdown(view.account.equity, view.account.peak_equity, lim.max_drawdown_pct),
            check_daily_loss(view.fleet.equity, view.fleet.day_start_equity, lim.fleet_daily_loss_limit_pct,
                             "fleet_daily_loss"),
            check_drawdown(view.fleet.equity, view.fleet.peak_equity, lim.fleet_max_drawdown_pct, "fleet_max_drawdown"),
        ]
        if req.market.market == "futures":
            fut = self.cfg.futures
            checks += [check_margin_mode(fut.margin_mode),
                       check_funding(req.side, req.funding_rate, fut.funding_rate_limit_pct),
                       check_liquidation_distance(req.side, req.price, lev, req.market.maintenance_margin_rate,
                                                  req.atr, fut.min_liq_distance_atr)]
        return checks

    def _exposure_checks(self, req: EntryRequest, view: PortfolioView, size: SizeResult) -> list[RiskVerdict]:
        pcfg = self.cfg.portfolio
        cluster_now = sum(p.notional for p in view.positions if p.cluster == req.cluster)
        held: dict[str, float] = {}
        for p in view.positions:
            held[p.symbol] = held.get(p.symbol, 0.0) + p.exposure
        others = sorted({(p.symbol, p.direction) for p in view.positions
                         if not (p.agent == view.agent and p.symbol == req.symbol)})
        return [check_cluster_exposure(req.cluster, cluster_now, size.notional, view.fleet.equity,
                                       self.cfg.limits.max_cluster_exposure_pct),
                check_var(held, req.symbol, req.direction * size.notional, view.fleet.equity, view.returns, pcfg),
                check_correlation(others, req.symbol, req.direction, view.returns, pcfg)]

    def plan_entry(self, req: EntryRequest, view: PortfolioView) -> EntryPlan:
        """Every rule for one entry: gates, protective stop, size, then the exposure rules that need the size.
        The verdict is the first rejection (rule order as listed in docs/risk.md) or an 'entry' approval; it
        carries every evaluated check."""
        lev, lev_reason = self.leverage_for(req.market, req.leverage)
        checks = self._gate_checks(req, view, lev)
        stop = self.protective_stop(req.side, req.price, req.market, lev, req.atr)
        if stop.price is None:
            checks.append(RiskVerdict.reject("protective_stop", stop.reason, entry=req.price,
                                             liquidation_price=stop.liquidation_price))
            size = None
        else:
            size = self.size_entry(req, view, stop)
            if not size.ok:
                checks.append(RiskVerdict.reject("sizing", size.skipped_reason, target_notional=size.target_notional,
                                                 min_notional=req.market.min_notional, lot_step=req.market.lot_step))
            else:
                checks.append(RiskVerdict.ok("sizing", size.summary, qty=size.qty, notional=size.notional,
                                             leverage=lev, binding=size.binding, bucket=size.bucket.value))
                checks += self._exposure_checks(req, view, size)
        bad = first_rejection(checks)
        if bad is not None:
            verdict = RiskVerdict(False, bad.rule, bad.reason, bad.numbers, tuple(checks))
        else:
            assert size is not None
            verdict = RiskVerdict(True, "entry", f"{len(checks)} risk checks passed; {size.summary}; "
                                  f"{stop.reason}; {lev_reason}", {"qty": size.qty, "notional": size.notional,
                                                                   "stop_price": stop.price, "leverage": lev},
                                  tuple(checks))
        margin_mode = self.cfg.futures.margin_mode if req.market.market == "futures" else None
        return EntryPlan(verdict, size, stop, lev, margin_mode)

    def check_entry(self, req: EntryRequest, view: PortfolioView) -> RiskVerdict:
        return self.plan_entry(req, view).verdict

    # -- state -------------------------------------------------------------------------------------------
    def review_state(self, view: PortfolioView) -> StateReview:
        """Run once per cycle before entries: daily loss / drawdown of the agent and of the fleet, and the kill
        switch, through the state machine. Persist `events`; flatten when `flatten` is True."""
        lim = self.cfg.limits
        ks = self.kill_switch()
        agent_breaches = [check_daily_loss(view.account.equity, view.account.day_start_equity, lim.daily_loss_limit_pct),
                          check_drawdown(view.account.equity, view.account.peak_equity, lim.max_drawdown_pct)]
        fleet_breaches = [check_daily_loss(view.fleet.equity, view.fleet.day_start_equity,
                                           lim.fleet_daily_loss_limit_pct, "fleet_daily_loss"),
                          check_drawdown(view.fleet.equity, view.fleet.peak_equity, lim.fleet_max_drawdown_pct,
                                         "fleet_max_drawdown")]
        return StateReview(self.machine.evaluate(view.state_of_agent(), agent_breaches, ks, view.now),
                           self.machine.evaluate(view.state_of_fleet(), fleet_breaches, ks, view.now), ks)

    def resume(self, state: TradingState, operator: str, now: datetime, note: str = "") -> Transition:
        """Operator action (Telegram /resume, CLI): HALTED or REDUCING -> ACTIVE; refused while the kill file exists."""
        return self.machine.resume(state, operator, now, self.kill_switch(), note)
