"""The fleet's state as a person wants it: programs, last cycles, positions, equity."""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from rich.table import Table

from shared.fleet.supervisor_client import process_info
from shared.fleet.paths import FleetPaths


@dataclass(frozen=True)
class AgentActivity:
    last_cycle: int | None
    heartbeat_ts: str | None
    market_ts: str | None
    last_error: str | None
    open_positions: int
    equity: float | None


def agent_activity(conn: sqlite3.Connection | None, agent: str) -> AgentActivity:
    if conn is None:
        return AgentActivity(None, None, None, None, 0, None)
    hb = conn.execute("SELECT cycle, ts, market_ts, last_error FROM heartbeats WHERE agent=? ORDER BY id DESC LIMIT 1",
                      (agent,)).fetchone()
    n = conn.execute("SELECT count(*) FROM positions WHERE agent=? AND status='OPEN'", (agent,)).fetchone()[0]
    eq = conn.execute("SELECT equity FROM equity_snapshots WHERE agent=? ORDER BY id DESC LIMIT 1", (agent,)).fetchone()
    return AgentActivity(hb["cycle"] if hb else None, hb["ts"] if hb else None, hb["market_ts"] if hb else None,
                         hb["last_error"] if hb else None, n, eq[0] if eq else None)


def _age(ts: str | None) -> str:
    if not ts:
        return "never"
    secs = (datetime.now(timezone.utc) - datetime.fromisoformat(ts.replace("Z", "+00:00"))).total_seconds()
    return f"{secs:.0f}s ago" if secs < 120 else f"{secs / 60:.0f}m ago"


def _uptime(info: dict) -> str:
    if info.get("statename") != "RUNNING" or not info.get("start"):
        return ""
    secs = int(time.time() - info["start"])
    return f"{secs // 3600}h{secs % 3600 // 60:02d}m{secs % 60:02d}s"


def status_table(paths: FleetPaths, conn: sqlite3.Connection | None) -> Table:
    table = Table(title="Tracer fleet")
    for col in ("program", "state", "pid", "uptime", "last cycle", "market time", "open positions", "equity", "last error"):
        table.add_column(col, overflow="fold")
    infos = process_info(paths.socket)
    for info in infos:
        act = agent_activity(conn, info["name"]) if info["name"] in ("hybrid", "futures") else None
        table.add_row(
            info["name"], info["statename"], str(info["pid"] or ""), _uptime(info),
            f"#{act.last_cycle} {_age(act.heartbeat_ts)}" if act and act.last_cycle else ("" if act is None else "never"),
            (act.market_ts or "")[:16] if act else "", str(act.open_positions) if act else "",
            f"{act.equity:,.2f}" if act and act.equity is not None else "", (act.last_error or "") if act else "",
        )
    return table
