"""Loading the bundled CSV files (see data/PROVENANCE.md for formats) into numpy columns."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from shared.market.candles import Candles


def _epoch_seconds(col: pd.Series) -> np.ndarray:
    # resolution-independent (pandas 3 may parse to s, ms, us or ns)
    delta = pd.to_datetime(col, utc=True) - pd.Timestamp(0, tz="UTC")
    return (delta // pd.Timedelta(seconds=1)).to_numpy(dtype=np.int64)


def load_candles(path: Path, symbol: str, timeframe: str) -> Candles:
    """F-OHLCV file (`timestamp,open,high,low,close,volume`, timestamp = candle open, UTC)."""
    df = pd.read_csv(path)
    df = df.drop_duplicates("timestamp").sort_values("timestamp")
    return Candles(
        symbol, timeframe, _epoch_seconds(df["timestamp"]),
        *(df[c].to_numpy(dtype=np.float64) for c in ("open", "high", "low", "close", "volume")),
    )


@dataclass(frozen=True)
class FundingSeries:
    """Funding events: epoch seconds and the rate per interval (positive: longs pay shorts)."""

    time: np.ndarray
    rate: np.ndarray

    def between(self, after: float, upto: float) -> list[tuple[int, float]]:
        """Events with after < time <= upto."""
        lo = int(np.searchsorted(self.time, after, side="right"))
        hi = int(np.searchsorted(self.time, upto, side="right"))
        return [(int(self.time[i]), float(self.rate[i])) for i in range(lo, hi)]

    def latest(self, upto: float) -> float | None:
        i = int(np.searchsorted(self.time, upto, side="right")) - 1
        return float(self.rate[i]) if i >= 0 else None


def load_funding(path: Path) -> FundingSeries:
    """F-FUND file (`timestamp,funding_rate`)."""
    df = pd.read_csv(path).drop_duplicates("timestamp").sort_values("timestamp")
    return FundingSeries(_epoch_seconds(df["timestamp"]), df["funding_rate"].to_numpy(dtype=np.float64))
