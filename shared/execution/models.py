"""Venue-neutral order, fill, position and market records that every Broker produces."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, Literal


class Side(str, Enum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    def opposite(self) -> "Side":
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(str, Enum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP_MARKET = "STOP_MARKET"


class OrderStatus(str, Enum):
    NEW = "NEW"  # recorded by us, not yet acknowledged by the venue
    SUBMITTED = "SUBMITTED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"

    @property
    def is_final(self) -> bool:
        return self in (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED)


MarketType = Literal["spot", "futures"]


@dataclass(frozen=True)
class MarketInfo:
    symbol: str
    market: MarketType
    base: str
    quote: str
    lot_step: float
    tick_size: float
    min_notional: float
    max_leverage: int = 1
    maintenance_margin_rate: float = 0.0
    taker_fee: float = 0.001
    maker_fee: float = 0.001
    exchange_stops: bool = False  # the venue holds reduce-only stop orders for us


@dataclass(frozen=True)
class OrderRequest:
    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    qty: float
    price: float | None = None
    stop_price: float | None = None
    reduce_only: bool = False
    leverage: int | None = None


@dataclass
class OrderReport:
    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    qty: float
    status: OrderStatus
    price: float | None = None
    stop_price: float | None = None
    reduce_only: bool = False
    filled_qty: float = 0.0
    avg_price: float = 0.0
    fee: float = 0.0
    venue_order_id: str = ""
    created_at: float = 0.0  # market time, epoch seconds
    updated_at: float = 0.0
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["side"], d["type"], d["status"] = self.side.value, self.type.value, self.status.value
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "OrderReport":
        d = dict(d)
        d["side"], d["type"], d["status"] = Side(d["side"]), OrderType(d["type"]), OrderStatus(d["status"])
        return cls(**d)


FillKind = Literal["trade", "liquidation"]


@dataclass(frozen=True)
class Fill:
    fill_id: str
    client_order_id: str
    symbol: str
    side: Side
    qty: float
    price: float
    fee: float
    ts: float  # market time, epoch seconds
    liquidity: Literal["maker", "taker"] = "taker"
    kind: FillKind = "trade"
    realized_pnl: float = 0.0


@dataclass(frozen=True)
class FundingPayment:
    symbol: str
    ts: float
    rate: float
    mark_price: float
    position_qty: float
    amount: float  # signed cash change for the account (negative: we paid)


@dataclass(frozen=True)
class PositionReport:
    symbol: str
    qty: float  # signed: > 0 long, < 0 short
    entry_price: float
    leverage: int = 1
    margin: float = 0.0
    liquidation_price: float | None = None
    mark_price: float = 0.0
    unrealized_pnl: float = 0.0

    @property
    def side(self) -> Side:
        return Side.BUY if self.qty > 0 else Side.SELL


@dataclass(frozen=True)
class BalanceReport:
    currency: str
    cash: float  # wallet balance: deposits + realised PnL - fees + funding
    equity: float  # cash + unrealised PnL (spot: cash + market value of holdings)
    free: float  # what new orders may use
    used_margin: float = 0.0


@dataclass
class BrokerUpdate:
    """What happened at the venue since the last poll."""

    fills: list[Fill] = field(default_factory=list)
    funding: list[FundingPayment] = field(default_factory=list)
    orders: list[OrderReport] = field(default_factory=list)  # orders whose status changed
