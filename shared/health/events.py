"""Watchdog and health records in the events table, with the time passed in (tests drive the clock)."""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from shared.clock import iso


def record_event(conn: sqlite3.Connection, now: datetime, agent: str, kind: str, message: str,
                 severity: str = "info", data: dict[str, Any] | None = None) -> None:
    """Insert one event; the caller holds the transaction (so an event commits with its state and alert)."""
    conn.execute("INSERT INTO events(ts, agent, kind, severity, message, data) VALUES (?,?,?,?,?,?)",
                 (iso(now), agent, kind, severity, message,
                  None if data is None else json.dumps(data, default=str, separators=(",", ":"))))
