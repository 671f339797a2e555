"""v1: decisions, orders, fills, positions, equity, events, heartbeats, the sim clock anchor."""
VERSION = 1
SQL = """
CREATE TABLE events (
    id INTEGER PRIMARY KEY, ts TEXT NOT NULL, agent TEXT NOT NULL, kind TEXT NOT NULL,
    severity TEXT NOT NULL DEFAULT 'info', message TEXT NOT NULL, data TEXT
);
CREATE INDEX events_agent_id ON events(agent, id);
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY, ts TEXT NOT NULL, market_ts TEXT NOT NULL, agent TEXT NOT NULL,
    cycle INTEGER NOT NULL, symbol TEXT NOT NULL, action TEXT NOT NULL, price REAL, qty REAL,
    reason TEXT NOT NULL, details TEXT, client_order_id TEXT
);
CREATE INDEX decisions_agent_id ON decisions(agent, id);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY, client_order_id TEXT NOT NULL UNIQUE, agent TEXT NOT NULL, symbol TEXT NOT NULL,
    side TEXT NOT NULL, type TEXT NOT NULL, qty REAL NOT NULL, price REAL, stop_price REAL,
    reduce_only INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL, filled_qty REAL NOT NULL DEFAULT 0,
    avg_price REAL, fee REAL NOT NULL DEFAULT 0, venue_order_id TEXT, intent TEXT, reason TEXT,
    created_ts TEXT NOT NULL, updated_ts TEXT NOT NULL
);
CREATE INDEX orders_agent_status ON orders(agent, status);
CREATE TABLE fills (
    id INTEGER PRIMARY KEY, fill_id TEXT NOT NULL UNIQUE, client_order_id TEXT NOT NULL, agent TEXT NOT NULL,
    symbol TEXT NOT NULL, side TEXT NOT NULL, qty REAL NOT NULL, price REAL NOT NULL, fee REAL NOT NULL,
    liquidity TEXT, kind TEXT NOT NULL DEFAULT 'trade', realized_pnl REAL NOT NULL DEFAULT 0,
    market_ts TEXT NOT NULL, ts TEXT NOT NULL
);
CREATE INDEX fills_agent_id ON fills(agent, id);
CREATE TABLE positions (
    id INTEGER PRIMARY KEY, agent TEXT NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL,
    qty REAL NOT NULL, entry_price REAL NOT NULL, leverage INTEGER NOT NULL DEFAULT 1, margin REAL NOT NULL DEFAULT 0,
    status TEXT NOT NULL, opened_ts TEXT NOT NULL, opened_market_ts TEXT NOT NULL,
    closed_ts TEXT, closed_market_ts TEXT, realized_pnl REAL NOT NULL DEFAULT 0, fees REAL NOT NULL DEFAULT 0,
    close_reason TEXT, updated_ts TEXT NOT NULL
);
CREATE UNIQUE INDEX positions_one_open ON positions(agent, symbol) WHERE status = 'OPEN';
CREATE TABLE equity_snapshots (
    id INTEGER PRIMARY KEY, ts TEXT NOT NULL, market_ts TEXT NOT NULL, agent TEXT NOT NULL,
    equity REAL NOT NULL, cash REAL NOT NULL, unrealized_pnl REAL NOT NULL, open_positions INTEGER NOT NULL
);
CREATE INDEX equity_agent_id ON equity_snapshots(agent, id);
CREATE TABLE heartbeats (
    id INTEGER PRIMARY KEY, ts TEXT NOT NULL, agent TEXT NOT NULL, pid INTEGER NOT NULL, cycle INTEGER NOT NULL,
    cycle_seconds REAL NOT NULL, market_ts TEXT, data_ts TEXT, last_error TEXT
);
CREATE INDEX heartbeats_agent_id ON heartbeats(agent, id);
CREATE TABLE sim_clock (
    id INTEGER PRIMARY KEY CHECK (id = 1), sim_start TEXT NOT NULL, wall_epoch REAL NOT NULL,
    rate REAL NOT NULL, created_ts TEXT NOT NULL
)
"""
