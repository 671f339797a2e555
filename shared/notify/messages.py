"""Alerts a person wants on a phone, built from plain values: trades, agent lifecycle, breakers and the kill switch,
health checks, the daily summary. Each returns an Alert; pass it to outbox.enqueue(conn, alert).

Mode (LIVE) and redaction are added when the notifier sends, so these builders stay pure.
"""
from __future__ import annotations

from shared.notify.models import Alert, Severity
from shared.notify.reports import DailySummary


def _side(side: str) -> str:
    s = str(getattr(side, "value", side)).upper()
    return "LONG" if s in ("BUY", "LONG") else "SHORT" if s in ("SELL", "SHORT") else s


def _num(x: float, digits: int = 6) -> str:
    return f"{x:,.{digits}f}".rstrip("0").rstrip(".") if x != int(x) or abs(x) < 1000 else f"{x:,.0f}"


def _price(x: float) -> str:
    return f"{x:,.2f}" if abs(x) >= 100 else f"{x:,.6f}".rstrip("0").rstrip(".")


def trade_opened(agent: str, symbol: str, side: str, qty: float, price: float, *, reason: str, leverage: int = 1,
                 stop_price: float | None = None, take_profit: float | None = None) -> Alert:
    pos = _side(side)
    emoji = "📈" if pos == "LONG" else "📉"  # not a red circle: that is the LIVE banner
    lines = [f"size {_num(qty)} @ {_price(price)} (notional {qty * price:,.2f})"]
    if leverage and leverage > 1:
        lines.append(f"leverage {leverage}x (margin {qty * price / leverage:,.2f})")
    if stop_price is not None:
        lines.append(f"stop {_price(stop_price)}")
    if take_profit is not None:
        lines.append(f"take profit {_price(take_profit)}")
    lines.append(f"reason: {reason}")
    return Alert(Severity.INFO, "trade_opened", f"{emoji} {pos} {symbol} opened", "\n".join(lines), agent=agent,
                 data={"symbol": symbol, "side": pos, "qty": qty, "price": price, "leverage": leverage})


def trade_closed(agent: str, symbol: str, side: str, qty: float, entry_price: float, exit_price: float, pnl: float, *,
                 reason: str, leverage: int = 1) -> Alert:
    """`side` is the side of the position that closed; `pnl` is its net PnL in quote currency."""
    pos = _side(side)
    emoji = "✅" if pnl > 0 else "❌"
    notional = qty * entry_price
    margin = notional / leverage if leverage and leverage > 1 else notional
    pct = f" ({pnl / margin:+.2%} on {'margin' if leverage and leverage > 1 else 'cost'})" if margin else ""
    lines = [f"size {_num(qty)}: {_price(entry_price)} → {_price(exit_price)}",
             f"PnL {pnl:+,.2f}{pct}"]
    if leverage and leverage > 1:
        lines.append(f"leverage {leverage}x")
    lines.append(f"reason: {reason}")
    return Alert(Severity.INFO, "trade_closed", f"{emoji} {pos} {symbol} closed {pnl:+,.2f}", "\n".join(lines),
                 agent=agent, data={"symbol": symbol, "side": pos, "qty": qty, "entry": entry_price,
                                    "exit": exit_price, "pnl": pnl, "leverage": leverage})


def agent_down(agent: str, detail: str) -> Alert:
    return Alert(Severity.CRITICAL, "agent_down", f"💀 {agent} is DOWN", detail, agent=agent,
                 dedup_key=f"agent_down:{agent}")


def agent_restarted(agent: str, detail: str, restarts_today: int | None = None) -> Alert:
    extra = f"\nrestarts today: {restarts_today}" if restarts_today is not None else ""
    return Alert(Severity.WARNING, "agent_restarted", f"🔄 {agent} restarted", detail + extra, agent=agent,
                 dedup_key=f"agent_restarted:{agent}")


def agent_failed(agent: str, detail: str) -> Alert:
    """The supervisor gave up (FATAL): the agent stays down until someone acts."""
    return Alert(Severity.CRITICAL, "agent_failed", f"🆘 {agent} FAILED and will not be restarted",
                 detail + "\nNeeds a person: check the logs, then ./start_trading_system.sh restart", agent=agent,
                 dedup_key=f"agent_failed:{agent}")


def circuit_breaker(agent: str, breaker: str, detail: str, until: str | None = None) -> Alert:
    resume = f"\nnew entries blocked until {until}" if until else "\nnew entries blocked"
    return Alert(Severity.CRITICAL, "circuit_breaker", f"⛔ {agent}: circuit breaker {breaker} tripped",
                 detail + resume, agent=agent, dedup_key=f"circuit_breaker:{agent}:{breaker}")


def kill_switch(engaged: bool, by: str, detail: str = "", agent: str = "fleet") -> Alert:
    if engaged:
        body = f"by {by}" + (f"\n{detail}" if detail else "") + "\nall trading stops; remove the file to resume"
        return Alert(Severity.CRITICAL, "kill_switch", "🛑 KILL SWITCH ENGAGED", body, agent=agent,
                     dedup_key="kill_switch:engaged")
    body = f"by {by}" + (f"\n{detail}" if detail else "")
    return Alert(Severity.WARNING, "kill_switch", "▶️ kill switch released", body, agent=agent,
                 dedup_key="kill_switch:released")


def health_check_failed(check: str, detail: str, agent: str = "fleet",
                        severity: Severity = Severity.WARNING) -> Alert:
    return Alert(severity, "health_check_failed", f"🩺 health check failed: {check}", detail, agent=agent,
                 dedup_key=f"health:{agent}:{check}")


def health_check_recovered(check: str, detail: str = "", agent: str = "fleet") -> Alert:
    return Alert(Severity.INFO, "health_check_recovered", f"💚 health check OK again: {check}", detail, agent=agent,
                 dedup_key=f"health_ok:{agent}:{check}")


def control_requested(command: str, agents: list[str], by: str) -> Alert:
    """Tell every channel that a person used an acting command (a kill switch from Telegram shows on Discord too)."""
    severity = Severity.CRITICAL if command in ("flatten", "killswitch") else Severity.WARNING
    return Alert(severity, "control_request", f"🎛 /{command} requested for {', '.join(agents)}", f"by {by}",
                 agent="notifier")


def daily_summary(s: DailySummary) -> Alert:
    rate = f"{s.win_rate:.0%}" if s.win_rate is not None else "n/a"
    lines = [f"trades: {s.opened} opened, {s.closed} closed ({s.wins} won / {s.losses} lost, win rate {rate})",
             f"net PnL: {s.net_pnl:+,.2f} (fees {s.fees:,.2f})",
             f"open positions now: {s.open_positions}",
             f"fills: {s.fills}, decisions: {s.decisions}"]
    if s.equity_start is not None and s.equity_end is not None:
        lines.append(f"equity: {s.equity_start:,.2f} → {s.equity_end:,.2f} ({s.equity_end - s.equity_start:+,.2f})")
    emoji = "📈" if s.net_pnl > 0 else "📉" if s.net_pnl < 0 else "➖"
    return Alert(Severity.INFO, "daily_summary", f"{emoji} {s.agent} daily summary {s.day}", "\n".join(lines),
                 agent=s.agent, dedup_key=f"daily_summary:{s.agent}:{s.day}",
                 data={"day": s.day, "net_pnl": s.net_pnl, "closed": s.closed, "wins": s.wins})
