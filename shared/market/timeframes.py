"""Timeframe names and their length in seconds."""
from __future__ import annotations

_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


def timeframe_seconds(tf: str) -> int:
    """'5m' -> 300. Raises ValueError on anything else."""
    try:
        n, unit = int(tf[:-1]), tf[-1]
        if n <= 0 or unit not in _UNITS:
            raise ValueError
    except (ValueError, IndexError):
        raise ValueError(f"timeframe {tf!r} is not valid; allowed: a number and one of m, h, d, w (e.g. 5m, 1h)") from None
    return n * _UNITS[unit]
