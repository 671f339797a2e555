"""The Broker protocol every venue implements: the sim venue now, ccxt and Alpaca adapters later."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol

from shared.execution.models import BalanceReport, BrokerUpdate, Fill, MarketInfo, OrderReport, OrderRequest, PositionReport


class BrokerError(Exception):
    """A venue refused or failed a request. `retryable` says whether the same request may be sent again."""

    def __init__(self, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class Broker(Protocol):
    name: str

    def market(self, symbol: str) -> MarketInfo: ...

    def balance(self) -> BalanceReport: ...

    def positions(self) -> list[PositionReport]: ...

    def place_order(self, request: OrderRequest) -> OrderReport:
        """Idempotent on client_order_id: a second call with the same id returns the existing order."""
        ...

    def cancel_order(self, client_order_id: str) -> OrderReport: ...

    def fetch_order(self, client_order_id: str) -> OrderReport | None: ...

    def open_orders(self) -> list[OrderReport]: ...

    def set_leverage(self, symbol: str, leverage: int) -> None: ...

    def poll(self, now: datetime) -> BrokerUpdate:
        """Bring the venue view up to `now`: fills, funding and order changes since the last poll."""
        ...

    def recent_fills(self, since: float) -> list[Fill]:
        """Our fills at or after market time `since` (epoch seconds), oldest first."""
        ...

    def last_price(self, symbol: str) -> float: ...
