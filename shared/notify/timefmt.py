"""Parsing and short human formats for the database's UTC ISO timestamps."""
from __future__ import annotations

from datetime import datetime, timezone


def parse_iso(ts: str) -> datetime:
    """The inverse of shared.clock.iso(): '2025-03-01T12:00:00.000Z' -> aware UTC datetime."""
    dt = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def hhmmss(ts: str | datetime) -> str:
    dt = parse_iso(ts) if isinstance(ts, str) else ts
    return dt.astimezone(timezone.utc).strftime("%H:%M:%SZ")


def short(ts: str | datetime) -> str:
    dt = parse_iso(ts) if isinstance(ts, str) else ts
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def age_text(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"
