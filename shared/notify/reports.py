"""Read-only views of the audit database for people: the daily summary and the answers to /status, /positions,
/pnl and /health. Net PnL of a position is realized_pnl - fees + funding (funding is signed cash)."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from shared.clock import iso
from shared.notify import outbox
from shared.notify.timefmt import age_text, hhmmss, parse_iso
from shared.risk.kill_switch import read_kill_switch

DEFAULT_STALE_HEARTBEAT_S = 120.0


def _money(x: float) -> str:
    return f"{x:+,.2f}"


def _qty(x: float) -> str:
    return f"{x:,.6f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class DailySummary:
    agent: str
    day: str  # YYYY-MM-DD (UTC)
    opened: int
    closed: int
    wins: int
    losses: int
    net_pnl: float
    fees: float
    fills: int
    decisions: int
    open_positions: int
    equity_start: float | None
    equity_end: float | None

    @property
    def win_rate(self) -> float | None:
        return self.wins / self.closed if self.closed else None


def daily_summary(conn: sqlite3.Connection, agent: str, day_start: datetime) -> DailySummary:
    """One agent's UTC day [day_start, day_start + 1 day) from positions, fills, decisions and equity snapshots."""
    lo, hi = iso(day_start), iso(day_start + timedelta(days=1))
    closed = conn.execute(
        "SELECT realized_pnl - fees + funding AS net, fees FROM positions WHERE agent=? AND status='CLOSED'"
        " AND closed_ts>=? AND closed_ts<?", (agent, lo, hi)).fetchall()
    opened = conn.execute("SELECT count(*) FROM positions WHERE agent=? AND opened_ts>=? AND opened_ts<?",
                          (agent, lo, hi)).fetchone()[0]
    fills = conn.execute("SELECT count(*) FROM fills WHERE agent=? AND ts>=? AND ts<?", (agent, lo, hi)).fetchone()[0]
    decisions = conn.execute("SELECT count(*) FROM decisions WHERE agent=? AND ts>=? AND ts<?",
                             (agent, lo, hi)).fetchone()[0]
    open_now = conn.execute("SELECT count(*) FROM positions WHERE agent=? AND status='OPEN'", (agent,)).fetchone()[0]
    eq = conn.execute(
        "SELECT (SELECT equity FROM equity_snapshots WHERE agent=?1 AND ts>=?2 AND ts<?3 ORDER BY id LIMIT 1),"
        " (SELECT equity FROM equity_snapshots WHERE agent=?1 AND ts>=?2 AND ts<?3 ORDER BY id DESC LIMIT 1)",
        (agent, lo, hi)).fetchone()
    nets = [r["net"] for r in closed]
    return DailySummary(agent, day_start.strftime("%Y-%m-%d"), opened, len(nets), sum(1 for n in nets if n > 0),
                        sum(1 for n in nets if n <= 0), float(sum(nets)), float(sum(r["fees"] for r in closed)),
                        fills, decisions, open_now, eq[0], eq[1])


def _open_positions(conn: sqlite3.Connection, agent: str) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM positions WHERE agent=? AND status='OPEN' ORDER BY id", (agent,)).fetchall()


def _last(conn: sqlite3.Connection, table: str, agent: str) -> sqlite3.Row | None:
    return conn.execute(f"SELECT * FROM {table} WHERE agent=? ORDER BY id DESC LIMIT 1", (agent,)).fetchone()


def kill_switch_line(path: Path) -> str:
    status = read_kill_switch(path)
    if not status.active:
        return "kill switch: off"
    return f"🛑 kill switch ENGAGED ({path})" + (f": {status.note}" if status.note else "")


def status_text(conn: sqlite3.Connection, agents: tuple[str, ...], now: datetime, kill_switch_path: Path) -> str:
    lines = ["📊 Status"]
    for agent in agents:
        hb = _last(conn, "heartbeats", agent)
        eq = _last(conn, "equity_snapshots", agent)
        n_open = len(_open_positions(conn, agent))
        if hb is None:
            beat = "no heartbeat yet"
        else:
            age = (now - parse_iso(hb["ts"])).total_seconds()
            beat = f"cycle {hb['cycle']}, heartbeat {age_text(age)} ago, pid {hb['pid']}"
            if hb["last_error"]:
                beat += f", last error: {hb['last_error'][:120]}"
        equity = f"equity {eq['equity']:,.2f}, uPnL {_money(eq['unrealized_pnl'])}" if eq else "no equity yet"
        ctl = conn.execute("SELECT command, status, ts FROM control_requests WHERE agent=? ORDER BY id DESC LIMIT 1",
                           (agent,)).fetchone()
        control = f"; last control: {ctl['command']} ({ctl['status']}, {hhmmss(ctl['ts'])})" if ctl else ""
        lines.append(f"• {agent}: {beat}; {equity}; {n_open} open{control}")
    lines.append(kill_switch_line(kill_switch_path))
    return "\n".join(lines)


def positions_text(conn: sqlite3.Connection, agents: tuple[str, ...]) -> str:
    lines = ["📈 Open positions"]
    total = 0
    for agent in agents:
        for p in _open_positions(conn, agent):
            total += 1
            side = "LONG" if p["side"] == "BUY" else "SHORT"
            lev = f" {p['leverage']}x" if p["leverage"] and p["leverage"] > 1 else ""
            lines.append(f"• {agent} {p['symbol']} {side}{lev} {_qty(p['qty'])} @ {p['entry_price']:,.4f}"
                         f" since {hhmmss(p['opened_ts'])}")
    if total == 0:
        lines.append("none")
    return "\n".join(lines)


def pnl_text(conn: sqlite3.Connection, agents: tuple[str, ...], now: datetime) -> str:
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    lines = [f"💰 PnL today ({day:%Y-%m-%d} UTC)"]
    for agent in agents:
        s = daily_summary(conn, agent, day)
        eq = _last(conn, "equity_snapshots", agent)
        upnl = f", unrealized {_money(eq['unrealized_pnl'])}" if eq else ""
        rate = f", win rate {s.win_rate:.0%}" if s.win_rate is not None else ""
        lines.append(f"• {agent}: realized {_money(s.net_pnl)} over {s.closed} closed{rate}{upnl}")
    return "\n".join(lines)


def health_text(conn: sqlite3.Connection, agents: tuple[str, ...], now: datetime, kill_switch_path: Path,
                stale_after_s: float = DEFAULT_STALE_HEARTBEAT_S) -> str:
    lines = ["🩺 Health"]
    for agent in agents:
        hb = _last(conn, "heartbeats", agent)
        if hb is None:
            lines.append(f"❌ {agent}: no heartbeat")
            continue
        age = (now - parse_iso(hb["ts"])).total_seconds()
        mark = "✅" if age <= stale_after_s else "❌"
        lines.append(f"{mark} {agent}: heartbeat {age_text(age)} ago (stale after {stale_after_s:.0f}s)")
    since = iso(now - timedelta(hours=1))
    errors = conn.execute("SELECT count(*) FROM events WHERE ts>=? AND severity IN ('error', 'critical')",
                          (since,)).fetchone()[0]
    lines.append(f"{'⚠️' if errors else '✅'} error events in the last hour: {errors}")
    waiting = outbox.backlog(conn)
    if not waiting:
        lines.append("✅ notifications: nothing waiting")
    for b in waiting:
        age = (now - parse_iso(b.oldest_ts)).total_seconds() if b.oldest_ts else 0.0
        err = f", last error: {b.last_error[:120]}" if b.last_error else ""
        lines.append(f"⚠️ notifications to {b.channel}: {b.waiting} waiting, oldest {age_text(age)}{err}")
    failed = conn.execute("SELECT count(*) FROM notify_deliveries WHERE status='failed' AND updated_ts>=?",
                          (iso(now - timedelta(days=1)),)).fetchone()[0]
    if failed:
        lines.append(f"⚠️ notifications failed permanently in 24h: {failed}")
    lines.append(kill_switch_line(kill_switch_path) if kill_switch_path.exists() else "✅ kill switch: off")
    return "\n".join(lines)
