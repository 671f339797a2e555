"""v2: every order status transition, funding payments, and fees/funding totals on positions."""
VERSION = 2
SQL = """
CREATE TABLE order_events (
    id INTEGER PRIMARY KEY, client_order_id TEXT NOT NULL, ts TEXT NOT NULL, market_ts TEXT,
    status TEXT NOT NULL, filled_qty REAL NOT NULL DEFAULT 0, reason TEXT
);
CREATE INDEX order_events_cid ON order_events(client_order_id, id);
CREATE TABLE funding_payments (
    id INTEGER PRIMARY KEY, agent TEXT NOT NULL, symbol TEXT NOT NULL, market_ts TEXT NOT NULL,
    rate REAL NOT NULL, mark_price REAL NOT NULL, position_qty REAL NOT NULL, amount REAL NOT NULL,
    UNIQUE (agent, symbol, market_ts)
);
ALTER TABLE positions ADD COLUMN funding REAL NOT NULL DEFAULT 0
"""
