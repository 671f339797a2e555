"""What the caller hands the risk engine: one entry request and a snapshot of both agents' portfolio (from the DB)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping, Sequence

from shared.execution.models import MarketInfo, Side
from shared.risk.config import RiskBucket
from shared.risk.fleet_state import FLEET, TradingState
from shared.risk.limits import consecutive_losses


@dataclass(frozen=True)
class EntryRequest:
    """One proposed entry. `price` is the reference price (last close or mark); `atr` in price units;
    `funding_rate` a fraction per funding interval (futures); `leverage` None means the profile's."""

    symbol: str
    side: Side
    price: float
    conviction: float  # 0..10 from shared.signals
    market: MarketInfo
    cluster: str = "other"  # from config/universe.yaml
    atr: float | None = None
    funding_rate: float | None = None
    leverage: int | None = None
    risk_state: str = "SAFE"  # shared.signals.market_state.RiskState (SAFE/CAUTION/DANGER); danger_states -> LOW
    bucket: RiskBucket = RiskBucket.NORMAL

    @property
    def direction(self) -> int:
        return self.side.sign


@dataclass(frozen=True)
class EquityView:
    """Equity marks of one scope (an agent, or the fleet = both agents summed). Equity includes unrealised PnL.

    peak_equity: highest equity since the last operator resume (or ever); day_start_equity: equity at 00:00 UTC
    today (or at the resume, if later). free: balance new orders may use (None: not capped by it)."""

    equity: float
    peak_equity: float
    day_start_equity: float
    free: float | None = None


@dataclass(frozen=True)
class HeldPosition:
    agent: str
    symbol: str
    qty: float  # signed: > 0 long, < 0 short
    price: float  # mark price
    cluster: str = "other"

    @property
    def notional(self) -> float:
        return abs(self.qty) * self.price

    @property
    def exposure(self) -> float:
        return self.qty * self.price

    @property
    def direction(self) -> int:
        return 1 if self.qty > 0 else -1


@dataclass(frozen=True)
class ClosedTrade:
    symbol: str
    pnl: float  # realised PnL net of fees (and funding, for futures)
    closed_at: datetime  # market time (UTC)


@dataclass(frozen=True)
class PortfolioView:
    """A snapshot the caller fills from the database once per cycle; `now` is the injected clock's time."""

    agent: str
    now: datetime
    account: EquityView  # this agent
    fleet: EquityView  # both agents summed
    positions: tuple[HeldPosition, ...] = ()  # open positions of BOTH agents
    closed_trades: tuple[ClosedTrade, ...] = ()  # THIS agent's closed trades (at least kelly.lookback_trades)
    trades_today: int = 0  # this agent's entries since 00:00 UTC (limits.trade_counts helps)
    trades_this_hour: int = 0  # this agent's entries in the last 60 minutes
    agent_state: TradingState | None = None  # last persisted state (fleet_state.restore_state); None = ACTIVE
    fleet_state: TradingState | None = None
    returns: Mapping[str, Sequence[float]] = field(default_factory=dict, compare=False)  # symbol -> returns

    @property
    def agent_positions(self) -> tuple[HeldPosition, ...]:
        return tuple(p for p in self.positions if p.agent == self.agent)

    @property
    def trades_oldest_first(self) -> tuple[ClosedTrade, ...]:
        return tuple(sorted(self.closed_trades, key=lambda t: t.closed_at))

    @property
    def closed_pnls(self) -> tuple[float, ...]:
        return tuple(t.pnl for t in self.trades_oldest_first)

    @property
    def consecutive_losses(self) -> int:
        return consecutive_losses(self.closed_pnls)

    @property
    def last_loss_close(self) -> datetime | None:
        losses = [t.closed_at for t in self.closed_trades if t.pnl < 0]
        return max(losses) if losses else None

    def state_of_agent(self) -> TradingState:
        return self.agent_state or TradingState.initial(self.agent, self.now)

    def state_of_fleet(self) -> TradingState:
        return self.fleet_state or TradingState.initial(FLEET, self.now)
