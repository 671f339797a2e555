"""Candles as numpy columns; times are candle open times in UTC epoch seconds."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from shared.clock import from_epoch
from shared.market.timeframes import timeframe_seconds


@dataclass(frozen=True)
class Candles:
    symbol: str
    timeframe: str
    open_time: np.ndarray  # int64 epoch seconds of each candle's open
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return int(self.open_time.shape[0])

    @property
    def seconds(self) -> int:
        return timeframe_seconds(self.timeframe)

    def slice(self, start: int, stop: int) -> "Candles":
        return Candles(self.symbol, self.timeframe, self.open_time[start:stop], self.open[start:stop],
                       self.high[start:stop], self.low[start:stop], self.close[start:stop], self.volume[start:stop])

    def close_time(self, i: int = -1) -> datetime:
        """When candle i closed (its open time plus the timeframe)."""
        return from_epoch(int(self.open_time[i]) + self.seconds)

    def closed_count(self, now_epoch: float) -> int:
        """How many candles have closed by `now_epoch` (a candle closes at open + timeframe)."""
        # open + tf <= now  <=>  open <= now - tf: search the stored column instead of allocating a shifted copy
        # (this runs for every symbol in every cycle and in the sim venue's matching loop)
        return int(np.searchsorted(self.open_time, now_epoch - self.seconds, side="right"))


def resample(c: Candles, timeframe: str, now_epoch: float | None = None) -> Candles:
    """Aggregate base candles into a higher timeframe; a bucket that has not closed by `now_epoch` is dropped.

    Buckets are aligned to the epoch (UTC midnight for 1d). A bucket with missing base candles still
    closes at its boundary: exchange outages show as thinner candles, never as look-ahead.
    """
    tf = timeframe_seconds(timeframe)
    if tf % c.seconds:
        raise ValueError(f"cannot resample {c.timeframe} into {timeframe}")
    if len(c) == 0:
        return Candles(c.symbol, timeframe, *(np.empty(0) for _ in range(6)))
    bucket = c.open_time - (c.open_time % tf)
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], len(c)]
    last_base_close = c.open_time[-1] + c.seconds
    limit = last_base_close if now_epoch is None else min(now_epoch, last_base_close)
    keep = bucket[starts] + tf <= limit
    return Candles(
        c.symbol, timeframe, bucket[starts][keep].astype(np.int64), c.open[starts][keep],
        np.maximum.reduceat(c.high, starts)[keep], np.minimum.reduceat(c.low, starts)[keep],
        c.close[ends - 1][keep], np.add.reduceat(c.volume, starts)[keep],
    )
