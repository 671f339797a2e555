"""v5: risk and trade state that must survive a restart.

- risk_states: the current ACTIVE / REDUCING / HALTED state of each scope (an agent, or 'fleet'); every change is also
  an events row (kind 'risk_state').
- equity_marks: peak equity and UTC-day start equity per scope (daily loss and drawdown are measured from them).
- agent_controls: the operator's standing order for an agent (RUN, PAUSED, STOPENTRY) from Telegram / CLI.
- trade_states: per agent and symbol, the trade phase WAIT / ENTRY / HOLD / EXIT / COOLDOWN.
- fills: a fill id is unique per agent, not across the table (two venue accounts may number fills alike; with one
  UNIQUE(fill_id) the second agent's fill was silently ignored).
- orders gain the cycle that placed them (ids never repeat after a restart), the decision's note (the close reason
  of an exit or stop) and the leverage; positions gain the exit state (watermarks, take-profit tiers taken, the
  protective stop level, the largest size held) and their origin ('adopted' for a venue position we did not open).
"""
from __future__ import annotations

import sqlite3

VERSION = 5

_TABLES = """
CREATE TABLE IF NOT EXISTS risk_states (
    scope TEXT PRIMARY KEY, mode TEXT NOT NULL CHECK (mode IN ('ACTIVE', 'REDUCING', 'HALTED')),
    since TEXT NOT NULL, rule TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '',
    flatten INTEGER NOT NULL DEFAULT 0, updated_ts TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS equity_marks (
    scope TEXT PRIMARY KEY, day TEXT NOT NULL, day_start_equity REAL NOT NULL, peak_equity REAL NOT NULL,
    peak_market_ts TEXT, rebased_ts TEXT, updated_ts TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS agent_controls (
    agent TEXT PRIMARY KEY, mode TEXT NOT NULL CHECK (mode IN ('RUN', 'PAUSED', 'STOPENTRY')),
    since TEXT NOT NULL, requested_by TEXT, request_id INTEGER, updated_ts TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trade_states (
    agent TEXT NOT NULL, symbol TEXT NOT NULL,
    phase TEXT NOT NULL CHECK (phase IN ('WAIT', 'ENTRY', 'HOLD', 'EXIT', 'COOLDOWN')),
    since TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', position_id INTEGER, cooldown_until TEXT,
    updated_ts TEXT NOT NULL, PRIMARY KEY (agent, symbol)
)
"""

_COLUMNS = {
    "orders": [("cycle", "INTEGER"), ("note", "TEXT"), ("leverage", "INTEGER")],
    "positions": [("peak_qty", "REAL"), ("high_watermark", "REAL"), ("low_watermark", "REAL"),
                  ("tp_tiers_done", "INTEGER NOT NULL DEFAULT 0"), ("exit_checked_ts", "REAL"), ("stop_price", "REAL"),
                  ("origin", "TEXT")],
}


def _fills_unique_per_agent(conn: sqlite3.Connection) -> None:
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type='table' AND name='fills'").fetchone()
    if row is None or "UNIQUE (agent, fill_id)" in row[0]:
        return
    sql = row[0].replace("fill_id TEXT NOT NULL UNIQUE", "fill_id TEXT NOT NULL")
    sql = sql[:sql.rindex(")")].rstrip() + ", UNIQUE (agent, fill_id)\n)"
    cols = ", ".join(r[1] for r in conn.execute("PRAGMA table_info(fills)"))
    conn.execute(sql.replace("CREATE TABLE fills", "CREATE TABLE fills_v5", 1))
    conn.execute(f"INSERT INTO fills_v5 ({cols}) SELECT {cols} FROM fills")
    conn.execute("DROP TABLE fills")
    conn.execute("ALTER TABLE fills_v5 RENAME TO fills")
    conn.execute("CREATE INDEX IF NOT EXISTS fills_agent_id ON fills(agent, id)")


def migrate(conn: sqlite3.Connection) -> None:
    _fills_unique_per_agent(conn)
    for stmt in (s.strip() for s in _TABLES.split(";")):
        if stmt:
            conn.execute(stmt)
    for table, cols in _COLUMNS.items():
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        for name, decl in cols:
            if name not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")
    conn.execute("CREATE INDEX IF NOT EXISTS orders_agent_cycle ON orders(agent, cycle)")
    conn.execute("CREATE INDEX IF NOT EXISTS positions_agent_status ON positions(agent, status, id)")
