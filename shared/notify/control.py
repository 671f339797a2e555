"""Operator control requests: written by the command bot, read by each agent on its next cycle.

The notifier never acts on an agent directly. It writes one `control_requests` row per target agent; the agent
reads its pending rows in id order (pending_control_requests), applies them, and marks each done or rejected
(complete_control_request). /killswitch also creates the kill-switch file (shared.risk.kill_switch), which the
risk engine checks every cycle anyway.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from shared.audit.db import transaction
from shared.clock import iso, utc_now
from shared.notify.outbox import joined_transaction

ACTING_COMMANDS = ("pause", "resume", "stopentry", "flatten", "killswitch")


@dataclass(frozen=True)
class ControlRequest:
    id: int
    ts: str
    command: str
    agent: str
    requested_by: str
    source: str
    status: str


def write_control_requests(conn: sqlite3.Connection, command: str, agents: list[str], requested_by: str, *,
                           source: str = "telegram", now: datetime | None = None) -> list[int]:
    """Insert one pending request per agent; joins the caller's transaction if one is open."""
    if command not in ACTING_COMMANDS:
        raise ValueError(f"control command {command!r} is not one of {', '.join(ACTING_COMMANDS)}")
    ts = iso(now or utc_now())
    rows = [(ts, command, agent, requested_by, source) for agent in agents]
    ids = []
    with joined_transaction(conn):
        for row in rows:
            cur = conn.execute("INSERT INTO control_requests(ts, command, agent, requested_by, source)"
                               " VALUES (?,?,?,?,?)", row)
            ids.append(int(cur.lastrowid or 0))
    return ids


def pending_control_requests(conn: sqlite3.Connection, agent: str) -> list[ControlRequest]:
    """What `agent` must apply this cycle, oldest first."""
    rows = conn.execute("SELECT id, ts, command, agent, requested_by, source, status FROM control_requests"
                        " WHERE agent=? AND status='pending' ORDER BY id", (agent,)).fetchall()
    return [ControlRequest(**dict(r)) for r in rows]


def complete_control_request(conn: sqlite3.Connection, request_id: int, *, status: str = "done",
                             result: str | None = None, now: datetime | None = None) -> bool:
    """Mark a request handled by its agent; False if it was not pending (already handled)."""
    if status not in ("done", "rejected"):
        raise ValueError("status must be 'done' or 'rejected'")
    with transaction(conn):
        cur = conn.execute("UPDATE control_requests SET status=?, handled_ts=?, result=? WHERE id=? AND status='pending'",
                           (status, iso(now or utc_now()), result, request_id))
    return cur.rowcount == 1

