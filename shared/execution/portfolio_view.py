"""Fill the risk engine's PortfolioView once per cycle from the database (both agents), the venue's balance, and
the market data of every symbol the fleet trades.

Sources, field by field (docs/risk.md, "Where the cycle gets the numbers"):
- account.equity / free        this agent's venue balance (equity includes unrealised PnL)
- account.peak / day start     equity_marks (updated here each cycle; rebased on an operator resume)
- fleet.equity                 this agent's equity + every other agent's latest equity snapshot
- positions                    every OPEN row of the positions table (both agents), marked at the latest close
- closed_trades                this agent's CLOSED positions, PnL net of fees and funding
- trades_today / this hour     this agent's position openings (market time)
- returns                      1h simple returns from the feeds, computed lazily for the symbols a rule asks for.
                               The other agent's symbols come from its own universe feed, loaded by this agent too
                               (same bundled files in sim; in paper/live the other venue's public candles).
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, Sequence

import numpy as np

from shared.audit.log import AuditLog
from shared.execution.models import BalanceReport, PositionReport
from shared.execution.state_store import StateStore
from shared.market.candles import Candles
from shared.risk.fleet_state import FLEET, TradingState
from shared.risk.limits import trade_counts
from shared.risk.views import ClosedTrade, EquityView, HeldPosition, PortfolioView

RETURNS_TIMEFRAME = "1h"
RETURNS_LOOKBACK = 72  # periods: >= portfolio.min_observations (30) with room to spare


class CandleFeed(Protocol):
    def candles(self, symbol: str, now: datetime, lookback: int, timeframe: str | None = None) -> Candles: ...


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


@dataclass
class MarketData:
    """Candles of every symbol the fleet trades (own feed + the other agents' feeds), their clusters, and the
    per-cycle cache of returns and marks."""

    feeds: dict[str, CandleFeed]  # symbol -> the feed that serves it
    clusters: dict[str, str] = field(default_factory=dict)
    timeframe: str = RETURNS_TIMEFRAME
    lookback: int = RETURNS_LOOKBACK
    _at: datetime | None = field(default=None, repr=False)
    _returns: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _marks: dict[str, float | None] = field(default_factory=dict, repr=False)

    def _fresh(self, now: datetime) -> None:
        if self._at != now:
            self._at, self._returns, self._marks = now, {}, {}

    def cluster(self, symbol: str) -> str:
        return self.clusters.get(symbol, "other")

    def returns(self, symbol: str, now: datetime) -> np.ndarray | None:
        """Simple returns of the last `lookback` closed `timeframe` candles (None: the symbol is unknown)."""
        self._fresh(now)
        if symbol not in self._returns:
            feed = self.feeds.get(symbol)
            if feed is None:
                return None
            closes = feed.candles(symbol, now, self.lookback + 1, self.timeframe).close
            self._returns[symbol] = np.diff(closes) / closes[:-1] if len(closes) > 1 else np.empty(0)
        return self._returns[symbol]

    def mark(self, symbol: str, now: datetime) -> float | None:
        self._fresh(now)
        if symbol not in self._marks:
            feed = self.feeds.get(symbol)
            c = feed.candles(symbol, now, 1) if feed is not None else None
            self._marks[symbol] = float(c.close[-1]) if c is not None and len(c) else None
        return self._marks[symbol]


class LazyReturns(Mapping[str, Sequence[float]]):
    """The view's `returns`: computed only for the symbols a rule looks up (most cycles propose no entry)."""

    def __init__(self, data: MarketData, now: datetime, symbols: Sequence[str]) -> None:
        self._data, self._now, self._symbols = data, now, tuple(dict.fromkeys(symbols))

    def __getitem__(self, symbol: str) -> Sequence[float]:
        r = self._data.returns(symbol, self._now)
        if r is None:
            raise KeyError(symbol)
        return r

    def __contains__(self, symbol: object) -> bool:
        return isinstance(symbol, str) and self._data.returns(symbol, self._now) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(s for s in self._symbols if s in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass(frozen=True)
class Snapshot:
    view: PortfolioView
    account_marks: tuple[float, float]  # (peak, day start)
    drawdown_pct: float  # this agent's, from its peak


class PortfolioBuilder:
    def __init__(self, agent: str, audit: AuditLog, store: StateStore, data: MarketData, other_agents: Sequence[str],
                 kelly_lookback: int = 100) -> None:
        self.agent, self.audit, self.store, self.data = agent, audit, store, data
        self.other_agents = tuple(a for a in other_agents if a != agent)
        self.kelly_lookback = kelly_lookback

    def fleet_equity(self, own: float) -> float:
        others = [self.audit.latest_equity(a) for a in self.other_agents]
        return own + sum(e for e in others if e is not None)

    def build(self, now: datetime, balance: BalanceReport, venue_positions: Sequence[PositionReport],
              agent_state: TradingState | None, fleet_state: TradingState | None) -> Snapshot:
        acct = self.store.update_marks(self.agent, balance.equity, now)
        fleet_eq = self.fleet_equity(balance.equity)
        fleet = self.store.update_marks(FLEET, fleet_eq, now)
        own_marks = {p.symbol: p.mark_price for p in venue_positions if p.mark_price}
        held = []
        for r in self.audit.fleet_open_positions():
            sign = 1 if r["side"] == "BUY" else -1
            mark = own_marks.get(r["symbol"]) if r["agent"] == self.agent else None
            mark = mark or self.data.mark(r["symbol"], now) or float(r["entry_price"])
            held.append(HeldPosition(r["agent"], r["symbol"], sign * float(r["qty"]), mark, self.data.cluster(r["symbol"])))
        closed = tuple(ClosedTrade(r["symbol"], float(r["realized_pnl"]) - float(r["fees"]) + float(r["funding"]),
                                   _parse(r["closed_market_ts"]))
                       for r in self.audit.closed_positions(self.kelly_lookback) if r["closed_market_ts"])
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        today, hour = trade_counts(self.audit.entry_times(min(midnight, now - timedelta(hours=1))), now)
        symbols = [p.symbol for p in held] + list(self.data.feeds)
        view = PortfolioView(
            agent=self.agent, now=now,
            account=EquityView(balance.equity, acct.peak_equity, acct.day_start_equity, balance.free),
            fleet=EquityView(fleet_eq, fleet.peak_equity, fleet.day_start_equity),
            positions=tuple(held), closed_trades=closed, trades_today=today, trades_this_hour=hour,
            agent_state=agent_state, fleet_state=fleet_state, returns=LazyReturns(self.data, now, symbols))
        peak = max(acct.peak_equity, balance.equity)
        dd = (peak - balance.equity) / peak * 100 if peak > 0 and math.isfinite(peak) else 0.0
        return Snapshot(view, (acct.peak_equity, acct.day_start_equity), dd)
