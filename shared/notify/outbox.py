"""The durable notification outbox: any process enqueues alerts; the notifier routes them to channel deliveries and
records every attempt. All state lives in SQLite, so nothing is lost or resent because a process restarted.

Life of an alert:
  enqueue()        -> notify_outbox row (or +1 on the count of an identical alert inside the dedup window)
  route_pending()  -> one notify_deliveries row per channel that takes its severity
  begin_attempt()  -> delivery 'sending' + notify_attempts row 'sending'  (committed BEFORE the network call)
  finish_attempt() -> 'sent' | 'pending' with next_attempt_ts (backoff or the service's retry_after) | 'failed'

A delivery found in 'sending' by a notifier that just started means the previous one died during the send: we do
not know whether the service got it, so we send again, marked as a possible duplicate (at-least-once).
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.audit.db import transaction
from shared.clock import iso, utc_now
from shared.notify.models import Alert, Backoff, Routing, SendResult, Severity
from shared.notify.timefmt import parse_iso

DEFAULT_DEDUP_WINDOW_S = 300.0


@contextmanager
def joined_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Join the caller's transaction when there is one (so an alert can commit atomically with a fill), else open one."""
    if conn.in_transaction:
        yield conn
    else:
        with transaction(conn):
            yield conn


def content_key(alert: Alert) -> str:
    digest = hashlib.sha1("\x1f".join((alert.agent, alert.kind, alert.title, alert.body)).encode()).hexdigest()
    return f"auto:{digest[:20]}"


def enqueue(conn: sqlite3.Connection, alert: Alert, *, now: datetime | None = None,
            dedup_window_s: float = DEFAULT_DEDUP_WINDOW_S) -> int:
    """Write `alert` to the outbox and return its row id (the earlier row's id when it was folded into one).

    Alerts with the same dedup key (default: same agent, kind, title and body) within `dedup_window_s` of the
    first are folded: the first row's count goes up. If that row was not yet routed, it also takes the higher
    severity. A repeat after the row was sent is counted but not sent again until the window has passed.
    """
    severity = Severity.parse(alert.severity)
    now_s = iso(now or utc_now())
    key = alert.dedup_key or content_key(alert)
    with joined_transaction(conn):
        if dedup_window_s > 0:
            since = iso(parse_iso(now_s) - timedelta(seconds=dedup_window_s))
            row = conn.execute(
                "SELECT id, severity, routed_ts FROM notify_outbox WHERE dedup_key=? AND created_ts>=?"
                " ORDER BY id DESC LIMIT 1", (key, since)).fetchone()
            if row is not None:
                upgrade = row["routed_ts"] is None and severity.rank > Severity(row["severity"]).rank
                conn.execute("UPDATE notify_outbox SET count=count+1, last_seen_ts=?, severity=? WHERE id=?",
                             (now_s, severity.value if upgrade else row["severity"], row["id"]))
                return int(row["id"])
        cur = conn.execute(
            "INSERT INTO notify_outbox(created_ts, agent, severity, kind, title, body, data, dedup_key, count,"
            " last_seen_ts) VALUES (?,?,?,?,?,?,?,?,1,?)",
            (now_s, alert.agent, severity.value, alert.kind, alert.title, alert.body,
             json.dumps(alert.data, default=str, separators=(",", ":")) if alert.data is not None else None,
             key, now_s))
        return int(cur.lastrowid or 0)


def enqueue_alert(conn: sqlite3.Connection, severity: Severity | str, kind: str, title: str, body: str, *,
                  agent: str = "fleet", dedup_key: str | None = None, data: dict[str, Any] | None = None,
                  now: datetime | None = None, dedup_window_s: float = DEFAULT_DEDUP_WINDOW_S) -> int:
    """The one call other code makes to raise an alert; see enqueue()."""
    alert = Alert(Severity.parse(severity), kind, title, body, agent=agent, dedup_key=dedup_key, data=data)
    return enqueue(conn, alert, now=now, dedup_window_s=dedup_window_s)


@dataclass(frozen=True)
class RoutedAlert:
    outbox_id: int
    severity: Severity
    agent: str
    kind: str
    title: str
    channels: tuple[str, ...]


def route_pending(conn: sqlite3.Connection, routing: Routing, now: datetime | None = None) -> list[RoutedAlert]:
    """Create the per-channel deliveries of every unrouted outbox row, oldest first, in one transaction."""
    now_s = iso(now or utc_now())
    routed: list[RoutedAlert] = []
    with transaction(conn):
        rows = conn.execute("SELECT id, severity, agent, kind, title FROM notify_outbox WHERE routed_ts IS NULL"
                            " ORDER BY id").fetchall()
        for row in rows:
            severity = Severity(row["severity"])
            channels = tuple(routing.channels_for(severity))
            conn.executemany(
                "INSERT OR IGNORE INTO notify_deliveries(outbox_id, channel, status, attempts, next_attempt_ts,"
                " created_ts, updated_ts) VALUES (?,?,'pending',0,?,?,?)",
                [(row["id"], ch, now_s, now_s, now_s) for ch in channels])
            conn.execute("UPDATE notify_outbox SET routed_ts=? WHERE id=?", (now_s, row["id"]))
            routed.append(RoutedAlert(row["id"], severity, row["agent"], row["kind"], row["title"], channels))
    return routed


@dataclass(frozen=True)
class Delivery:
    """The head of a channel's queue joined with its alert, as read at the start of an attempt."""

    id: int
    outbox_id: int
    channel: str
    status: str
    attempts: int
    next_attempt_ts: str
    created_ts: str
    agent: str
    severity: Severity
    kind: str
    title: str
    body: str
    count: int
    last_seen_ts: str

    @property
    def next_attempt_at(self) -> datetime:
        return parse_iso(self.next_attempt_ts)


def next_delivery(conn: sqlite3.Connection, channel: str) -> Delivery | None:
    """The oldest undelivered alert of `channel`. Strict order: nothing behind it is sent before it is settled."""
    row = conn.execute(
        "SELECT d.id, d.outbox_id, d.channel, d.status, d.attempts, d.next_attempt_ts, o.created_ts, o.agent,"
        " o.severity, o.kind, o.title, o.body, o.count, o.last_seen_ts FROM notify_deliveries d"
        " JOIN notify_outbox o ON o.id = d.outbox_id WHERE d.channel=? AND d.status IN ('pending', 'sending')"
        " ORDER BY d.outbox_id LIMIT 1", (channel,)).fetchone()
    if row is None:
        return None
    return Delivery(**{**dict(row), "severity": Severity(row["severity"])})


@dataclass(frozen=True)
class Attempt:
    id: int
    delivery_id: int
    number: int
    possible_duplicate: bool  # an earlier attempt was cut off mid-send; the service may already have it


INTERRUPTED_ERROR = "the notifier stopped during this send; whether the service received it is unknown"


def begin_attempt(conn: sqlite3.Connection, delivery: Delivery, now: datetime | None = None) -> Attempt:
    """Mark the delivery 'sending' and open an attempt row, committed before the network call."""
    now_s = iso(now or utc_now())
    with transaction(conn):
        conn.execute("UPDATE notify_attempts SET status='interrupted', finished_ts=?, error=?"
                     " WHERE delivery_id=? AND status='sending'", (now_s, INTERRUPTED_ERROR, delivery.id))
        interrupted = conn.execute("SELECT count(*) FROM notify_attempts WHERE delivery_id=? AND status='interrupted'",
                                   (delivery.id,)).fetchone()[0]
        number = conn.execute("SELECT attempts FROM notify_deliveries WHERE id=?", (delivery.id,)).fetchone()[0] + 1
        conn.execute("UPDATE notify_deliveries SET status='sending', attempts=?, updated_ts=? WHERE id=?",
                     (number, now_s, delivery.id))
        cur = conn.execute(
            "INSERT INTO notify_attempts(delivery_id, outbox_id, channel, attempt, started_ts, status)"
            " VALUES (?,?,?,?,?,'sending')", (delivery.id, delivery.outbox_id, delivery.channel, number, now_s))
    return Attempt(int(cur.lastrowid or 0), delivery.id, number, interrupted > 0)


def finish_attempt(conn: sqlite3.Connection, attempt: Attempt, result: SendResult, backoff: Backoff,
                   now: datetime | None = None) -> datetime | None:
    """Record the outcome of an attempt; return when the next attempt is due (None when the delivery is settled)."""
    now_dt = now or utc_now()
    now_s = iso(now_dt)
    next_at: datetime | None = None
    with transaction(conn):
        if result.status == "sent":
            conn.execute("UPDATE notify_attempts SET status='sent', finished_ts=?, remote_id=? WHERE id=?",
                         (now_s, result.remote_id, attempt.id))
            conn.execute("UPDATE notify_deliveries SET status='sent', sent_ts=?, remote_id=?, last_error=NULL,"
                         " updated_ts=? WHERE id=?", (now_s, result.remote_id, now_s, attempt.delivery_id))
        elif result.status == "failed":
            conn.execute("UPDATE notify_attempts SET status='failed', finished_ts=?, error=? WHERE id=?",
                         (now_s, result.error, attempt.id))
            conn.execute("UPDATE notify_deliveries SET status='failed', last_error=?, updated_ts=? WHERE id=?",
                         (result.error, now_s, attempt.delivery_id))
        else:
            delay = result.retry_after if result.retry_after is not None else backoff.delay(attempt.number)
            next_at = now_dt + timedelta(seconds=max(0.0, delay))
            conn.execute("UPDATE notify_attempts SET status=?, finished_ts=?, error=?, retry_after=? WHERE id=?",
                         ("rate_limited" if result.rate_limited else "retry", now_s, result.error, result.retry_after,
                          attempt.id))
            conn.execute("UPDATE notify_deliveries SET status='pending', next_attempt_ts=?, last_error=?, updated_ts=?"
                         " WHERE id=?", (iso(next_at), result.error, now_s, attempt.delivery_id))
    return next_at


def abandon_unconfigured(conn: sqlite3.Connection, channels: list[str], now: datetime | None = None) -> int:
    """Settle deliveries queued for channels that no longer exist in the configuration (e.g. 'console' from sim
    days after Telegram was set up) as failed, so they do not sit in the backlog forever. Returns how many."""
    now_s = iso(now or utc_now())
    marks = ",".join("?" * len(channels)) or "''"
    with transaction(conn):
        cur = conn.execute(
            f"UPDATE notify_deliveries SET status='failed', last_error='channel no longer configured', updated_ts=?"
            f" WHERE status IN ('pending','sending') AND channel NOT IN ({marks})", (now_s, *channels))
    return cur.rowcount


@dataclass(frozen=True)
class Backlog:
    channel: str
    waiting: int
    oldest_ts: str | None
    last_error: str | None


def backlog(conn: sqlite3.Connection) -> list[Backlog]:
    """Undelivered alerts per channel, for /health and the health check."""
    rows = conn.execute(
        "SELECT d.channel, count(*) AS n, min(o.created_ts) AS oldest,"
        " (SELECT d2.last_error FROM notify_deliveries d2 WHERE d2.channel=d.channel AND d2.status IN"
        "  ('pending','sending') ORDER BY d2.outbox_id LIMIT 1) AS err"
        " FROM notify_deliveries d JOIN notify_outbox o ON o.id=d.outbox_id"
        " WHERE d.status IN ('pending','sending') GROUP BY d.channel ORDER BY d.channel").fetchall()
    return [Backlog(r["channel"], r["n"], r["oldest"], r["err"]) for r in rows]


def has_alert(conn: sqlite3.Connection, dedup_key: str) -> bool:
    return conn.execute("SELECT 1 FROM notify_outbox WHERE dedup_key=? LIMIT 1", (dedup_key,)).fetchone() is not None
