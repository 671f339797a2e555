"""Per-agent and fleet limits: open positions, cluster exposure, trade frequency, daily loss, drawdown,
loss-streak cooldown, and the risk downgrade to the LOW bucket. Each check returns a RiskVerdict."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable, Mapping, Sequence

from shared.risk.config import LimitsConfig, RiskBucket
from shared.risk.verdict import RiskVerdict


def check_open_positions(agent_open: int, fleet_open: int, max_agent: int, max_fleet: int,
                         adds_position: bool = True) -> RiskVerdict:
    """A new position needs room under both the agent's and the fleet's maximum (adding to a held symbol does not)."""
    nums = dict(agent_open=agent_open, max_agent=max_agent, fleet_open=fleet_open, max_fleet=max_fleet)
    if adds_position and agent_open >= max_agent:
        return RiskVerdict.reject("max_positions_agent", f"agent has {agent_open} open positions, max {max_agent}", **nums)
    if adds_position and fleet_open >= max_fleet:
        return RiskVerdict.reject("max_positions_fleet", f"fleet has {fleet_open} open positions, max {max_fleet}", **nums)
    return RiskVerdict.ok("max_positions", f"open positions agent {agent_open}/{max_agent}, fleet {fleet_open}/{max_fleet}",
                          **nums)


def check_cluster_exposure(cluster: str, cluster_notional: float, candidate_notional: float, fleet_equity: float,
                           max_pct: float) -> RiskVerdict:
    """Gross notional of one asset cluster over both agents, after the entry, as % of fleet equity."""
    after = cluster_notional + abs(candidate_notional)
    pct = after / fleet_equity * 100 if fleet_equity > 0 else float("inf")
    nums = dict(cluster=cluster, cluster_notional_before=cluster_notional, candidate_notional=abs(candidate_notional),
                cluster_notional_after=after, cluster_pct_after=pct, max_cluster_pct=max_pct, fleet_equity=fleet_equity)
    text = f"cluster {cluster} exposure {after:.2f} = {pct:.2f}% of fleet equity {fleet_equity:.2f} (max {max_pct}%)"
    if pct > max_pct + 1e-9:
        return RiskVerdict.reject("cluster_exposure", "cluster limit: " + text, **nums)
    return RiskVerdict.ok("cluster_exposure", text, **nums)


def check_trade_frequency(trades_today: int, trades_this_hour: int, cfg: LimitsConfig) -> RiskVerdict:
    nums = dict(trades_today=trades_today, max_per_day=cfg.max_trades_per_day,
                trades_this_hour=trades_this_hour, max_per_hour=cfg.max_trades_per_hour)
    if trades_today >= cfg.max_trades_per_day:
        return RiskVerdict.reject("trades_per_day", f"{trades_today} entries today, max {cfg.max_trades_per_day}", **nums)
    if trades_this_hour >= cfg.max_trades_per_hour:
        return RiskVerdict.reject("trades_per_hour", f"{trades_this_hour} entries in the last hour, "
                                  f"max {cfg.max_trades_per_hour}", **nums)
    return RiskVerdict.ok("trade_frequency", f"entries today {trades_today}/{cfg.max_trades_per_day}, "
                          f"last hour {trades_this_hour}/{cfg.max_trades_per_hour}", **nums)


def loss_pct(reference: float, equity: float) -> float:
    """How far equity is below a reference (day start or peak), in % of the reference; 0 when above it."""
    if reference <= 0:
        return 0.0
    return max(0.0, (reference - equity) / reference * 100)


def check_daily_loss(equity: float, day_start_equity: float, limit_pct: float, rule: str = "daily_loss") -> RiskVerdict:
    """daily loss % = (day start equity - equity) / day start equity * 100, equity including unrealised PnL."""
    lost = loss_pct(day_start_equity, equity)
    nums = dict(equity=equity, day_start_equity=day_start_equity, daily_loss_pct=lost, limit_pct=limit_pct)
    text = f"down {lost:.2f}% today (equity {equity:.2f} vs day start {day_start_equity:.2f}; stop at {limit_pct}%)"
    if lost >= limit_pct:
        return RiskVerdict.reject(rule, "daily loss stop: " + text, **nums)
    return RiskVerdict.ok(rule, text, **nums)


def check_drawdown(equity: float, peak_equity: float, max_pct: float, rule: str = "max_drawdown") -> RiskVerdict:
    """drawdown % = (peak - equity) / peak * 100 with peak = max(peak_equity, equity); equity includes unrealised PnL."""
    peak = max(peak_equity, equity)
    dd = loss_pct(peak, equity)
    nums = dict(equity=equity, peak_equity=peak, drawdown_pct=dd, max_drawdown_pct=max_pct)
    text = f"drawdown {dd:.2f}% (equity {equity:.2f} vs peak {peak:.2f}; limit {max_pct}%)"
    if dd >= max_pct:
        return RiskVerdict.reject(rule, "max drawdown: " + text, **nums)
    return RiskVerdict.ok(rule, text, **nums)


def consecutive_losses(pnls_oldest_first: Sequence[float]) -> int:
    """Losses (PnL < 0) in a row at the end of the list; any PnL >= 0 ends the streak."""
    n = 0
    for p in reversed(pnls_oldest_first):
        if p < 0:
            n += 1
        else:
            break
    return n


def check_loss_cooldown(pnls_oldest_first: Sequence[float], last_close: datetime | None, now: datetime,
                        cfg: LimitsConfig) -> RiskVerdict:
    """After `loss_streak` losses in a row, no entry until `loss_cooldown_minutes` after the last loss's close."""
    streak = consecutive_losses(pnls_oldest_first)
    nums = dict(consecutive_losses=streak, loss_streak=cfg.loss_streak, cooldown_minutes=cfg.loss_cooldown_minutes)
    if streak < cfg.loss_streak or last_close is None:
        return RiskVerdict.ok("loss_cooldown", f"{streak} consecutive losses (cooldown at {cfg.loss_streak})", **nums)
    until = last_close + timedelta(minutes=cfg.loss_cooldown_minutes)
    remaining = (until - now).total_seconds() / 60
    nums.update(last_loss_close=last_close.isoformat(), cooldown_until=until.isoformat(), minutes_left=max(0.0, remaining))
    if remaining > 0:
        return RiskVerdict.reject("loss_cooldown", f"{streak} consecutive losses: cooling down until {until:%Y-%m-%d %H:%M}Z "
                                  f"({remaining:.1f} min left of {cfg.loss_cooldown_minutes:g})", **nums)
    return RiskVerdict.ok("loss_cooldown", f"{streak} consecutive losses but the {cfg.loss_cooldown_minutes:g} min "
                          f"cooldown ended at {until:%Y-%m-%d %H:%M}Z", **nums)


def choose_bucket(requested: RiskBucket, risk_state: str, drawdowns: Iterable[tuple[float, float]],
                  cfg: LimitsConfig) -> tuple[RiskBucket, str]:
    """The bucket to size with: LOW when the risk state is a danger state or a drawdown is within
    `downgrade_within_pct` points of its limit; `requested` otherwise. `drawdowns` are (drawdown %, limit %) pairs."""
    if risk_state.upper() in {s.upper() for s in cfg.danger_states}:
        return RiskBucket.LOW, f"risk state {risk_state}: size downgraded to LOW"
    for dd, limit in drawdowns:
        if dd >= limit - cfg.downgrade_within_pct:
            return RiskBucket.LOW, (f"drawdown {dd:.2f}% within {cfg.downgrade_within_pct:g} points of the "
                                    f"{limit:g}% limit: size downgraded to LOW")
    return requested, f"bucket {requested.value}"


def trade_counts(entry_times: Iterable[datetime], now: datetime) -> tuple[int, int]:
    """(entries since UTC midnight of `now`, entries in the last 60 minutes) — a helper for filling PortfolioView."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    hour_ago = now - timedelta(hours=1)
    times = [t for t in entry_times if t <= now]
    return sum(t >= midnight for t in times), sum(t > hour_ago for t in times)


def cluster_notionals(positions: Iterable[tuple[str, float]]) -> Mapping[str, float]:
    """Gross notional per cluster from (cluster, notional) pairs."""
    out: dict[str, float] = {}
    for cluster, notional in positions:
        out[cluster] = out.get(cluster, 0.0) + abs(notional)
    return out
