"""Replay feed for sim mode: serves bundled candles up to the clock, never a candle that has not closed."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from shared.market.candles import Candles, resample
from shared.market.datafiles import FundingSeries, load_candles, load_funding
from shared.market.timeframes import timeframe_seconds
from shared.market.universe import AgentUniverse


class ReplayFeed:
    def __init__(self, series: dict[str, Candles], funding: dict[str, FundingSeries] | None = None) -> None:
        self._series = series
        self._funding = funding or {}

    @classmethod
    def from_universe(cls, universe: AgentUniverse, data_dir: Path) -> "ReplayFeed":
        series = {s: load_candles(data_dir / spec.data, s, universe.timeframe) for s, spec in universe.symbols.items()}
        funding = {s: load_funding(data_dir / spec.funding) for s, spec in universe.symbols.items() if spec.funding}
        return cls(series, funding)

    @property
    def symbols(self) -> list[str]:
        return list(self._series)

    def history(self, symbol: str) -> Candles:
        """Every bundled candle of `symbol`, closed or not: for the sim venue's matching only."""
        return self._series[symbol]

    def funding(self, symbol: str) -> FundingSeries | None:
        return self._funding.get(symbol)

    def candles(self, symbol: str, now: datetime, lookback: int, timeframe: str | None = None) -> Candles:
        """The last `lookback` candles that have closed by `now` (resampled to `timeframe` if given)."""
        base = self._series[symbol]
        n = base.closed_count(now.timestamp())
        if timeframe is None or timeframe == base.timeframe:
            return base.slice(max(0, n - lookback), n)
        ratio = max(1, timeframe_seconds(timeframe) // base.seconds)
        window = base.slice(max(0, n - (lookback + 1) * ratio), n)
        higher = resample(window, timeframe, now.timestamp())
        return higher.slice(max(0, len(higher) - lookback), len(higher))

    def data_end(self) -> datetime:
        """When the last bundled candle of the shortest series closes: after that the replay is over."""
        return min(s.close_time(-1) for s in self._series.values())
