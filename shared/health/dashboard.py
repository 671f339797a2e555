"""The live terminal dashboard (scripts/monitoring_status.sh): both agents' state, last cycle, positions, PnL, recent
decisions, the helper programs and recent alerts. A snapshot is read (read-only), then rendered; rich Live repeats."""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from shared.audit.db import connect
from shared.clock import iso
from shared.health.checks import FleetPlaces
from shared.health.config import AGENTS, HELPERS, Thresholds
from shared.health.heartbeats import heartbeat_view
from shared.health.programs import Control, ProgramState
from shared.health.readiness import Readiness, assess
from shared.health.report import STYLE
from shared.notify.timefmt import age_text, hhmmss

REASON_CHARS = 120
DECISION_SCAN = 20_000  # only look this far back for non-WAIT decisions (the table grows by every symbol, every cycle)


@dataclass(frozen=True)
class AgentView:
    name: str
    program: ProgramState | None
    readiness: Readiness
    last_cycle: int | None
    last_cycle_age_s: float | None
    market_ts: str | None
    equity: float | None
    pnl: float | None
    unrealized: float | None
    positions: list[dict[str, Any]]
    decisions: list[dict[str, Any]]


@dataclass(frozen=True)
class Snapshot:
    at: datetime
    mode: str
    supervisor_up: bool
    helpers: list[ProgramState | None]
    agents: list[AgentView]
    alerts: list[dict[str, Any]]


def take_snapshot(places: FleetPlaces, limits: Thresholds, timeframes: dict[str, int], control: Control,
                  now: datetime) -> Snapshot:
    up = control.available()
    programs = control.programs() if up else {}
    conn = connect(places.db_path, readonly=True) if places.db_path.exists() else None
    try:
        agents = [_agent(conn, name, programs.get(name), now, limits, timeframes.get(name)) for name in AGENTS]
        alerts = _alerts(conn)
    finally:
        if conn is not None:
            conn.close()
    return Snapshot(now, places.mode, up, [programs.get(h) for h in HELPERS], agents, alerts)


def _agent(conn: sqlite3.Connection | None, name: str, prog: ProgramState | None, now: datetime, limits: Thresholds,
           timeframe_s: int | None) -> AgentView:
    from shared.health.heartbeats import HeartbeatView

    hb = heartbeat_view(conn, name, limit=50) if conn is not None else HeartbeatView((), None)
    readiness = assess(name, prog, hb, now, limits, timeframe_s)
    if conn is None:
        return AgentView(name, prog, readiness, None, None, None, None, None, None, [], [])
    newest = hb.newest
    eq = conn.execute("SELECT equity, unrealized_pnl FROM equity_snapshots WHERE agent=? ORDER BY id DESC LIMIT 1",
                      (name,)).fetchone()
    first = conn.execute("SELECT equity FROM equity_snapshots WHERE agent=? ORDER BY id LIMIT 1", (name,)).fetchone()
    positions = [dict(r) for r in conn.execute(
        "SELECT symbol, side, qty, entry_price, leverage, opened_market_ts FROM positions WHERE agent=? AND status='OPEN'"
        " ORDER BY id", (name,))]
    decisions = [dict(r) for r in conn.execute(
        "SELECT market_ts, symbol, action, price, reason FROM decisions WHERE agent=? AND action NOT IN ('WAIT','HOLD')"
        " AND id > (SELECT coalesce(max(id), 0) FROM decisions) - ? ORDER BY id DESC LIMIT 6", (name, DECISION_SCAN))]
    return AgentView(name, prog, readiness, newest.cycle if newest else None,
                     (now - newest.ts).total_seconds() if newest else None,
                     iso(newest.market_ts) if newest and newest.market_ts else None,
                     eq["equity"] if eq else None, (eq["equity"] - first["equity"]) if eq and first else None,
                     eq["unrealized_pnl"] if eq else None, positions, decisions)


def _alerts(conn: sqlite3.Connection | None) -> list[dict[str, Any]]:
    if conn is None:
        return []
    try:
        return [dict(r) for r in conn.execute(
            "SELECT o.id, o.created_ts, o.severity, o.agent, o.title, o.count,"
            " (SELECT group_concat(d.channel || ' ' || d.status, ', ') FROM notify_deliveries d WHERE d.outbox_id=o.id)"
            " AS deliveries FROM notify_outbox o ORDER BY o.id DESC LIMIT 8")]
    except sqlite3.OperationalError:
        return []


# -- rendering -----------------------------------------------------------------------------------------
def render(s: Snapshot) -> RenderableType:
    head = Text(f"Tracer fleet  ·  mode {s.mode}  ·  {iso(s.at)}  ·  "
                + ("supervisord running" if s.supervisor_up else "supervisord NOT running"),
                style="bold" if s.supervisor_up else "bold red")
    helpers = Text("  ".join(f"{p.name} {p.state}" if p else "?" for p in s.helpers) if s.supervisor_up else "",
                   style="dim")
    panels = Table.grid(expand=True)
    for _ in s.agents:
        panels.add_column(ratio=1)
    panels.add_row(*[_agent_panel(a) for a in s.agents])
    return Group(head, helpers, panels, _alerts_table(s.alerts), Text("Ctrl-C to quit", style="dim"))


def _agent_panel(a: AgentView) -> Panel:
    r = a.readiness
    info = Table.grid(padding=(0, 1))
    info.add_column(style="dim")
    info.add_column()
    state = a.program.state if a.program else "not supervised"
    info.add_row("state", Text(f"{state} · {r.state}", style=STYLE[r.status]))
    info.add_row("health", Text(r.detail, style=STYLE[r.status]))
    cycle = f"#{a.last_cycle} {age_text(a.last_cycle_age_s)} ago" if a.last_cycle is not None else "never"
    info.add_row("last cycle", cycle)
    info.add_row("market time", (a.market_ts or "")[:16])
    info.add_row("equity", f"{a.equity:,.2f}" if a.equity is not None else "")
    if a.pnl is not None:
        info.add_row("PnL", Text(f"{a.pnl:+,.2f} (unrealized {a.unrealized or 0:+,.2f})",
                                 style="green" if a.pnl >= 0 else "red"))
    pos = Table("symbol", "side", "qty", "entry", "lev", box=None, title="open positions", title_justify="left")
    for p in a.positions:
        pos.add_row(p["symbol"], p["side"], f"{p['qty']:.6g}", f"{p['entry_price']:.6g}", f"{p['leverage']}x")
    dec = Table(box=None, title="recent decisions", title_justify="left", expand=True)
    for col in ("market", "symbol", "action"):
        dec.add_column(col, no_wrap=True)
    dec.add_column("reason", no_wrap=True, overflow="ellipsis", ratio=1)
    for d in a.decisions:
        dec.add_row(d["market_ts"][5:16], d["symbol"], d["action"], (d["reason"] or "")[:REASON_CHARS])
    return Panel(Group(info, pos, dec), title=a.name, border_style=STYLE[r.status])


def _alerts_table(alerts: list[dict[str, Any]]) -> Table:
    t = Table("#", "time", "severity", "agent", "alert", "delivery", title="recent alerts", title_justify="left",
              expand=True)
    for a in alerts:
        title = a["title"] + (f" ×{a['count']}" if a["count"] > 1 else "")
        t.add_row(str(a["id"]), hhmmss(a["created_ts"]), a["severity"], a["agent"], title, a["deliveries"] or "queued")
    return t


def run_live(snapshot: Callable[[], Snapshot], refresh_s: float, console: Console) -> None:
    """Refresh until Ctrl-C."""
    from rich.live import Live

    with Live(render(snapshot()), console=console, refresh_per_second=4, screen=False) as live:
        try:
            while True:
                time.sleep(refresh_s)
                live.update(render(snapshot()))
        except KeyboardInterrupt:
            pass
