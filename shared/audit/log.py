"""Writes to the audit log. Each method is one short IMMEDIATE transaction (or part of the caller's)."""
from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

from shared.audit.db import transaction
from shared.clock import from_epoch, iso, utc_now
from shared.execution.accounting import Holding, apply_fill
from shared.execution.models import Fill, FundingPayment, OrderReport, OrderRequest, OrderStatus, PositionReport, Side
from shared.execution.orders import IllegalTransition, status_path

log = logging.getLogger(__name__)


def _json(data: Any) -> str | None:
    return None if data is None else json.dumps(data, default=str, separators=(",", ":"))


@dataclass
class DecisionRow:
    """One symbol's decision in one cycle (WAIT included): what, why, and the numbers behind it."""

    symbol: str
    action: str
    reason: str
    price: float | None = None
    qty: float | None = None
    client_order_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


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
        """The highest cycle number this agent recorded (heartbeats, decisions, and orders — a cycle that crashed
        after submitting an order wrote no decision yet): a restart continues after it, so that client order ids
        (derived from it) never repeat."""
        row = self.conn.execute("SELECT max(c) FROM (SELECT max(cycle) AS c FROM heartbeats WHERE agent=?"
                                " UNION ALL SELECT max(cycle) FROM decisions WHERE agent=?"
                                " UNION ALL SELECT max(cycle) FROM orders WHERE agent=?)",
                                (self.agent, self.agent, self.agent)).fetchone()
        return int(row[0] or 0)

    # -- orders ----------------------------------------------------------------------------------------
    def order_new(self, req: OrderRequest, intent: str, market_ts: datetime, cycle: int | None = None,
                  note: str | None = None) -> bool:
        """Record an order before it goes to the venue. False if this client id exists already (a retry).
        `note` is the decision's reason (for an exit or a stop: the close reason its fill will record)."""
        now = iso(utc_now())
        with transaction(self.conn):
            cur = self.conn.execute(
                "INSERT OR IGNORE INTO orders(client_order_id, agent, symbol, side, type, qty, price, stop_price, reduce_only,"
                " status, intent, created_ts, updated_ts, cycle, note, leverage) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (req.client_order_id, self.agent, req.symbol, req.side.value, req.type.value, req.qty, req.price,
                 req.stop_price, int(req.reduce_only), OrderStatus.NEW.value, intent, now, now, cycle, note,
                 req.leverage))
            if cur.rowcount:
                self._order_event(req.client_order_id, OrderStatus.NEW.value, 0.0, "recorded before submission", market_ts)
            return bool(cur.rowcount)

    def order_update(self, rep: OrderReport) -> bool:
        """Store the venue's view of an order. Each status change is a row in order_events, through the legal
        lifecycle (shared.execution.orders): a FILLED report for a NEW order records SUBMITTED first. An illegal
        change is not applied; it is logged as an 'order_error' event. True when something changed."""
        with transaction(self.conn):
            row = self.conn.execute("SELECT status, filled_qty FROM orders WHERE client_order_id=?",
                                    (rep.client_order_id,)).fetchone()
            if row is None:
                return False
            old = OrderStatus(row["status"])
            filled_changed = abs(row["filled_qty"] - rep.filled_qty) >= 1e-12
            try:
                path = status_path(rep.client_order_id, old, rep.status, filled_changed)
            except IllegalTransition as exc:
                log.error("%s", exc)
                self.conn.execute("INSERT INTO events(ts, agent, kind, severity, message, data) VALUES (?,?,?,?,?,?)",
                                  (iso(utc_now()), self.agent, "order_error", "error", str(exc),
                                   _json({"client_order_id": rep.client_order_id, "venue": rep.to_dict()})))
                return False
            if not path and not filled_changed:
                return False
            self.conn.execute(
                "UPDATE orders SET status=?, filled_qty=?, avg_price=?, fee=?, venue_order_id=?, reason=?, updated_ts=?"
                " WHERE client_order_id=?",
                (rep.status.value, rep.filled_qty, rep.avg_price or None, rep.fee, rep.venue_order_id, rep.reason,
                 iso(utc_now()), rep.client_order_id))
            mts = from_epoch(rep.updated_at)
            for status in path:
                if status is OrderStatus.SUBMITTED and rep.status is not OrderStatus.SUBMITTED:
                    self._order_event(rep.client_order_id, status.value, 0.0,
                                      f"acknowledged by the venue (implied by its {rep.status.value} report)",
                                      from_epoch(rep.created_at or rep.updated_at))
                else:
                    self._order_event(rep.client_order_id, status.value, rep.filled_qty, rep.reason, mts)
            return True

    def order_abandon(self, cid: str, reason: str, market_ts: datetime) -> bool:
        """A working order the venue does not know: never sent (we crashed before sending it) or lost by the venue.
        EXPIRED (legal from every working status), with the reason."""
        with transaction(self.conn):
            cur = self.conn.execute("UPDATE orders SET status='EXPIRED', reason=?, updated_ts=? WHERE client_order_id=?"
                                    " AND status IN ('NEW','SUBMITTED','PARTIALLY_FILLED')", (reason, iso(utc_now()), cid))
            if cur.rowcount:
                row = self.conn.execute("SELECT filled_qty FROM orders WHERE client_order_id=?", (cid,)).fetchone()
                self._order_event(cid, OrderStatus.EXPIRED.value, row["filled_qty"], reason, market_ts)
            return bool(cur.rowcount)

    def order_row(self, cid: str) -> sqlite3.Row | None:
        return self.conn.execute("SELECT * FROM orders WHERE client_order_id=?", (cid,)).fetchone()

    def order_history(self, cid: str) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT status FROM order_events WHERE client_order_id=? ORDER BY id",
                                                (cid,))]

    def _order_event(self, cid: str, status: str, filled: float, reason: str, market_ts: datetime) -> None:
        self.conn.execute("INSERT INTO order_events(client_order_id, ts, market_ts, status, filled_qty, reason)"
                          " VALUES (?,?,?,?,?,?)", (cid, iso(utc_now()), iso(market_ts), status, filled, reason))

    def open_orders(self) -> list[sqlite3.Row]:
        return self.conn.execute(
            "SELECT * FROM orders WHERE agent=? AND status IN ('NEW','SUBMITTED','PARTIALLY_FILLED') ORDER BY id",
            (self.agent,)).fetchall()

    # -- fills and positions ---------------------------------------------------------------------------
    def last_fill_market_ts(self) -> float:
        row = self.conn.execute("SELECT max(market_ts) FROM fills WHERE agent=?", (self.agent,)).fetchone()
        return datetime.fromisoformat(row[0].replace("Z", "+00:00")).timestamp() if row and row[0] else 0.0

    def apply_fill(self, fill: Fill, futures: bool, leverage: int, close_reason: str | None = None) -> bool:
        """Record a fill once (by fill_id) and move our position book; False if it was recorded before.

        The close reason of a fill that closes a position: `close_reason` if given, else the note of the order
        it belongs to (what the decision said: "stop loss ...", "take profit ..."), 'liquidation' for a
        liquidation. The leverage is the order's (recorded at placement), else `leverage`."""
        now, mts = iso(utc_now()), iso(from_epoch(fill.ts))
        with transaction(self.conn):
            order = self.conn.execute("SELECT note, leverage, intent FROM orders WHERE client_order_id=?",
                                      (fill.client_order_id,)).fetchone()
            if order is not None and order["leverage"]:
                leverage = int(order["leverage"])
            if close_reason is None:
                close_reason = (order["note"] if order is not None and order["note"] else
                                f"closed at the venue by order {fill.client_order_id}")
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
                self.conn.execute("UPDATE positions SET qty=?, entry_price=?, margin=?, realized_pnl=?, fees=?, updated_ts=?,"
                                  " peak_qty=max(coalesce(peak_qty, 0), ?) WHERE id=?",
                                  (abs(h.qty), h.entry_price, h.margin, realized, fees, now, abs(h.qty), pos["id"]))
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
            " opened_market_ts, fees, updated_ts, peak_qty, high_watermark, low_watermark, origin)"
            " VALUES (?,?,?,?,?,?,?,'OPEN',?,?,?,?,?,?,?,'fill')",
            (self.agent, h.symbol, (Side.BUY if h.qty > 0 else Side.SELL).value, abs(h.qty), h.entry_price, h.leverage,
             h.margin, now, mts, fill.fee if fee is None else fee, now, abs(h.qty), h.entry_price, h.entry_price))

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

    def open_position(self, symbol: str) -> sqlite3.Row | None:
        return self.conn.execute("SELECT * FROM positions WHERE agent=? AND symbol=? AND status='OPEN'",
                                 (self.agent, symbol)).fetchone()

    def fleet_open_positions(self) -> list[sqlite3.Row]:
        """Open positions of every agent (fleet-wide limits, VaR and correlation)."""
        return self.conn.execute("SELECT * FROM positions WHERE status='OPEN' ORDER BY id").fetchall()

    def closed_positions(self, limit: int) -> list[sqlite3.Row]:
        """This agent's most recent closed positions, newest first."""
        return self.conn.execute("SELECT * FROM positions WHERE agent=? AND status='CLOSED' ORDER BY id DESC LIMIT ?",
                                 (self.agent, limit)).fetchall()

    def entry_times(self, since: datetime) -> list[datetime]:
        """Market times this agent opened positions at or after `since` (trade counters)."""
        rows = self.conn.execute("SELECT opened_market_ts FROM positions WHERE agent=? AND opened_market_ts>=?"
                                 " AND coalesce(origin, 'fill') != 'adopted'", (self.agent, iso(since))).fetchall()
        return [_parse(r[0]) for r in rows]

    def last_close(self, symbol: str) -> datetime | None:
        row = self.conn.execute("SELECT max(closed_market_ts) FROM positions WHERE agent=? AND symbol=? AND status='CLOSED'",
                                (self.agent, symbol)).fetchone()
        return _parse(row[0]) if row and row[0] else None

    def latest_equity(self, agent: str) -> float | None:
        row = self.conn.execute("SELECT equity FROM equity_snapshots WHERE agent=? ORDER BY id DESC LIMIT 1",
                                (agent,)).fetchone()
        return float(row[0]) if row else None

    def update_exit_state(self, position_id: int, **fields: Any) -> None:
        """Store the exit state of an open position (watermarks, take-profit tiers, stop level, last candle checked)."""
        allowed = {"peak_qty", "high_watermark", "low_watermark", "tp_tiers_done", "exit_checked_ts", "stop_price"}
        bad = set(fields) - allowed
        if bad:
            raise ValueError(f"not exit-state columns: {sorted(bad)}")
        if not fields:
            return
        cols = ", ".join(f"{k}=?" for k in fields)
        with transaction(self.conn):
            self.conn.execute(f"UPDATE positions SET {cols}, updated_ts=? WHERE id=?",
                              (*fields.values(), iso(utc_now()), position_id))

    def adopt_position(self, rep: PositionReport, market_ts: datetime, note: str) -> int:
        """A venue position our book lacks: open it in the book as it stands at the venue (origin 'adopted')."""
        now = iso(utc_now())
        with transaction(self.conn):
            cur = self.conn.execute(
                "INSERT INTO positions(agent, symbol, side, qty, entry_price, leverage, margin, status, opened_ts,"
                " opened_market_ts, updated_ts, peak_qty, high_watermark, low_watermark, origin, close_reason)"
                " VALUES (?,?,?,?,?,?,?,'OPEN',?,?,?,?,?,?,'adopted',?)",
                (self.agent, rep.symbol, rep.side.value, abs(rep.qty), rep.entry_price, rep.leverage, rep.margin, now,
                 iso(market_ts), now, abs(rep.qty), rep.entry_price, rep.entry_price, None))
            self.conn.execute("INSERT INTO events(ts, agent, kind, severity, message, data) VALUES (?,?,?,?,?,?)",
                              (now, self.agent, "reconcile", "warning", note,
                               _json({"symbol": rep.symbol, "qty": rep.qty, "entry": rep.entry_price})))
            return int(cur.lastrowid or 0)

    def resize_position(self, position_id: int, rep: PositionReport, note: str) -> None:
        """Set an open position to the venue's size and entry (reconciliation found them different)."""
        now = iso(utc_now())
        with transaction(self.conn):
            self.conn.execute("UPDATE positions SET qty=?, entry_price=?, margin=?, updated_ts=? WHERE id=?",
                              (abs(rep.qty), rep.entry_price, rep.margin, now, position_id))
            self.conn.execute("INSERT INTO events(ts, agent, kind, severity, message, data) VALUES (?,?,?,?,?,?)",
                              (now, self.agent, "reconcile", "warning", note, _json({"qty": rep.qty})))

    def close_position_unreported(self, position_id: int, price: float, market_ts: datetime, reason: str) -> float:
        """Close a position the venue no longer holds and reported no fill for: PnL estimated at `price`."""
        now = iso(utc_now())
        with transaction(self.conn):
            pos = self.conn.execute("SELECT * FROM positions WHERE id=?", (position_id,)).fetchone()
            sign = 1 if pos["side"] == Side.BUY.value else -1
            pnl = sign * pos["qty"] * (price - pos["entry_price"])
            self.conn.execute("UPDATE positions SET qty=0, status='CLOSED', realized_pnl=realized_pnl+?, closed_ts=?,"
                              " closed_market_ts=?, close_reason=?, updated_ts=? WHERE id=?",
                              (pnl, now, iso(market_ts), reason, now, position_id))
            return pnl


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))
