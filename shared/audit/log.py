"""Writes to the audit log. Each method is one short IMMEDIATE transaction (or part of the caller's)."""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from shared.audit.db import transaction
from shared.clock import from_epoch, iso, utc_now
from shared.execution.accounting import Holding, apply_fill
from shared.execution.models import Fill, FundingPayment, OrderReport, OrderRequest, OrderStatus, Side


def _json(data: Any) -> str | None:
    return None if data is None else json.dumps(data, default=str, separators=(",", ":"))


@dataclass(frozen=True)
class DecisionRow:
    symbol: str
    action: str
    reason: str
    price: float | None = None
    qty: float | None = None
    details: dict[str, Any] | None = None
    client_order_id: str | None = None


class AuditLog:
    """The agent's (or another process's) handle on enhanced_trading.db."""

    def __init__(self, conn: sqlite3.Connection, agent: str) -> None:
        self.conn = conn
        self.agent = agent

    # -- events and liveness ---------------------------------------------------------------------------
    def event(self, kind: str, message: str, severity: str = "info", data: dict[str, Any] | None = None) -> None:
        with transaction(self.conn):
            self.conn.execute("INSERT INTO events(ts, agent, kind, severity, message, data) VALUES (?,?,?,?,?,?)",
                              (iso(utc_now()), self.agent, kind, severity, message, _json(data)))

    def heartbeat(self, pid: int, cycle: int, seconds: float, market_ts: datetime | None, last_error: str | None,
                  data_ts: datetime | None = None) -> None:
        """One row per cycle. `data_ts` is the close of the newest candle the cycle saw (feed freshness);
        `last_error` is None for a successful cycle."""
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO heartbeats(ts, agent, pid, cycle, cycle_seconds, market_ts, data_ts, last_error)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (iso(utc_now()), self.agent, pid, cycle, seconds, iso(market_ts) if market_ts else None,
                 iso(data_ts) if data_ts else None, last_error))

    def decisions(self, cycle: int, market_ts: datetime, rows: Iterable[DecisionRow]) -> None:
        now = iso(utc_now())
        with transaction(self.conn):
            self.conn.executemany(
                "INSERT INTO decisions(ts, market_ts, agent, cycle, symbol, action, price, qty, reason, details, client_order_id)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [(now, iso(market_ts), self.agent, cycle, r.symbol, r.action, r.price, r.qty, r.reason, _json(r.details),
                  r.client_order_id) for r in rows])

    def equity(self, market_ts: datetime, equity: float, cash: float, upnl: float, open_positions: int) -> None:
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO equity_snapshots(ts, market_ts, agent, equity, cash, unrealized_pnl, open_positions)"
                " VALUES (?,?,?,?,?,?,?)", (iso(utc_now()), iso(market_ts), self.agent, equity, cash, upnl, open_positions))

    def last_cycle(self) -> int:
        """The highest cycle number this agent recorded: a restart continues after it, so that client
        order ids (derived from it) never repeat."""
        row = self.conn.execute("SELECT max(c) FROM (SELECT max(cycle) AS c FROM heartbeats WHERE agent=?"
                                " UNION ALL SELECT max(cycle) FROM decisions WHERE agent=?)", (self.agent, self.agent)).fetchone()
        return int(row[0] or 0)

    # -- orders ----------------------------------------------------------------------------------------
    def order_new(self, req: OrderRequest, intent: str, market_ts: datetime) -> bool:
        """Record an order before it goes to the venue. False if this client id exists already (a retry)."""
        now = iso(utc_now())
        with transaction(self.conn):
            cur = self.conn.execute(
                "INSERT OR IGNORE INTO orders(client_order_id, agent, symbol, side, type, qty, price, stop_price, reduce_only,"
                " status, intent, created_ts, updated_ts) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (req.client_order_id, self.agent, req.symbol, req.side.value, req.type.value, req.qty, req.price,
                 req.stop_price, int(req.reduce_only), OrderStatus.NEW.value, intent, now, now))
            if cur.rowcount:
                self._order_event(req.client_order_id, OrderStatus.NEW.value, 0.0, "recorded before submission", market_ts)
            return bool(cur.rowcount)

    def order_update(self, rep: OrderReport) -> None:
        """Store the venue's view of an order; a status change is also a row in order_events."""
        with transaction(self.conn):
            row = self.conn.execute("SELECT status, filled_qty FROM orders WHERE client_order_id=?",
                                    (rep.client_order_id,)).fetchone()
            if row is None:
                return
            if row["status"] == rep.status.value and abs(row["filled_qty"] - rep.filled_qty) < 1e-12:
                return
            self.conn.execute(
                "UPDATE orders SET status=?, filled_qty=?, avg_price=?, fee=?, venue_order_id=?, reason=?, updated_ts=?"
                " WHERE client_order_id=?",
                (rep.status.value, rep.filled_qty, rep.avg_price or None, rep.fee, rep.venue_order_id, rep.reason,
                 iso(utc_now()), rep.client_order_id))
            self._order_event(rep.client_order_id, rep.status.value, rep.filled_qty, rep.reason, from_epoch(rep.updated_at))

    def _order_event(self, cid: str, status: str, filled: float, reason: str, market_ts: datetime) -> None:
        self.conn.execute("INSERT INTO order_events(client_order_id, ts, market_ts, status, filled_qty, reason)"
                          " VALUES (?,?,?,?,?,?)", (cid, iso(utc_now()), iso(market_ts), status, filled, reason))

    def open_orders(self) -> list[sqlite3.Row]:
        return self.conn.execute(
            "SELECT * FROM orders WHERE agent=? AND status IN ('NEW','SUBMITTED','PARTIALLY_FILLED')", (self.agent,)).fetchall()

    # -- fills and positions ---------------------------------------------------------------------------
    def last_fill_market_ts(self) -> float:
        row = self.conn.execute("SELECT max(market_ts) FROM fills WHERE agent=?", (self.agent,)).fetchone()
        return datetime.fromisoformat(row[0].replace("Z", "+00:00")).timestamp() if row and row[0] else 0.0

    def apply_fill(self, fill: Fill, futures: bool, leverage: int, close_reason: str) -> bool:
        """Record a fill once (by fill_id) and move our position book; False if it was recorded before."""
        now, mts = iso(utc_now()), iso(from_epoch(fill.ts))
        with transaction(self.conn):
            cur = self.conn.execute(
                "INSERT OR IGNORE INTO fills(fill_id, client_order_id, agent, symbol, side, qty, price, fee, liquidity, kind,"
                " realized_pnl, market_ts, ts) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (fill.fill_id, fill.client_order_id, self.agent, fill.symbol, fill.side.value, fill.qty, fill.price,
                 fill.fee, fill.liquidity, fill.kind, fill.realized_pnl, mts, now))
            if not cur.rowcount:
                return False
            pos = self.conn.execute("SELECT * FROM positions WHERE agent=? AND symbol=? AND status='OPEN'",
                                    (self.agent, fill.symbol)).fetchone()
            h = Holding(fill.symbol)
            if pos:
                sign = 1 if pos["side"] == Side.BUY.value else -1
                h = Holding(fill.symbol, sign * pos["qty"], pos["entry_price"], pos["margin"], pos["leverage"])
            pnl = apply_fill(h, fill.side, fill.qty, fill.price, futures, leverage)
            if pos is None:
                self._open_position(h, fill, mts, now)
                return True
            realized, fees = pos["realized_pnl"] + pnl, pos["fees"] + fill.fee
            if h.is_open and (h.qty > 0) == (pos["side"] == Side.BUY.value):
                self.conn.execute("UPDATE positions SET qty=?, entry_price=?, margin=?, realized_pnl=?, fees=?, updated_ts=?"
                                  " WHERE id=?", (abs(h.qty), h.entry_price, h.margin, realized, fees, now, pos["id"]))
                return True
            reason = "liquidation" if fill.kind == "liquidation" else close_reason
            self.conn.execute("UPDATE positions SET qty=0, status='CLOSED', realized_pnl=?, fees=?, closed_ts=?,"
                              " closed_market_ts=?, close_reason=?, updated_ts=? WHERE id=?",
                              (realized, fees, now, mts, reason, now, pos["id"]))
            if h.is_open:  # flipped through zero: the remainder is a new position
                self._open_position(h, fill, mts, now, fee=0.0)
            return True

    def _open_position(self, h: Holding, fill: Fill, mts: str, now: str, fee: float | None = None) -> None:
        self.conn.execute(
            "INSERT INTO positions(agent, symbol, side, qty, entry_price, leverage, margin, status, opened_ts,"
            " opened_market_ts, fees, updated_ts) VALUES (?,?,?,?,?,?,?,'OPEN',?,?,?,?)",
            (self.agent, h.symbol, (Side.BUY if h.qty > 0 else Side.SELL).value, abs(h.qty), h.entry_price, h.leverage,
             h.margin, now, mts, fill.fee if fee is None else fee, now))

    def apply_funding(self, p: FundingPayment) -> bool:
        with transaction(self.conn):
            cur = self.conn.execute(
                "INSERT OR IGNORE INTO funding_payments(agent, symbol, market_ts, rate, mark_price, position_qty, amount)"
                " VALUES (?,?,?,?,?,?,?)", (self.agent, p.symbol, iso(from_epoch(p.ts)), p.rate, p.mark_price,
                                            p.position_qty, p.amount))
            if cur.rowcount:
                self.conn.execute("UPDATE positions SET funding = funding + ?, updated_ts=? WHERE agent=? AND symbol=?"
                                  " AND status='OPEN'", (p.amount, iso(utc_now()), self.agent, p.symbol))
            return bool(cur.rowcount)

    def open_positions(self) -> list[sqlite3.Row]:
        return self.conn.execute("SELECT * FROM positions WHERE agent=? AND status='OPEN' ORDER BY id",
                                 (self.agent,)).fetchall()
