"""Small builders shared by tests (no fakes of our own code: real objects on hand-made inputs)."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

from shared.market.candles import Candles

T0 = int(datetime(2025, 1, 1, tzinfo=timezone.utc).timestamp())


def candles(symbol: str, bars: list[tuple[float, float, float, float]], timeframe: str = "1h", start: int = T0,
            volume: float = 1.0) -> Candles:
    """Candles from (open, high, low, close) tuples, consecutive from `start`."""
    from shared.market.timeframes import timeframe_seconds

    step = timeframe_seconds(timeframe)
    arr = np.array(bars, dtype=np.float64)
    n = len(bars)
    return Candles(symbol, timeframe, np.arange(n, dtype=np.int64) * step + start, arr[:, 0], arr[:, 1], arr[:, 2],
                   arr[:, 3], np.full(n, volume))


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)
