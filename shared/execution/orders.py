"""The order lifecycle: which status changes are legal, and the path of statuses to record for a venue report.

    NEW ──► SUBMITTED ──► PARTIALLY_FILLED ──► FILLED
     │          │                │
     │          ├──► FILLED      ├──► PARTIALLY_FILLED (more fills)
     │          ├──► CANCELED / REJECTED / EXPIRED
     │                           └──► CANCELED / EXPIRED (the filled part stays)
     └──► REJECTED (refused on submission) / EXPIRED (never reached the venue, found by reconciliation)

FILLED, CANCELED, REJECTED and EXPIRED are final: nothing leaves them. A venue that answers a NEW order with
FILLED at once (a market order) acknowledged it on the way: `status_path` returns NEW -> SUBMITTED -> FILLED so
that every order's history shows each step.
"""
from __future__ import annotations

from shared.execution.models import OrderStatus

S = OrderStatus
LEGAL: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.NEW: frozenset({S.SUBMITTED, S.REJECTED, S.EXPIRED, S.CANCELED}),
    S.SUBMITTED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED}),
    S.PARTIALLY_FILLED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELED, S.EXPIRED}),
    S.FILLED: frozenset(),
    S.CANCELED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
}
WORKING = (S.NEW, S.SUBMITTED, S.PARTIALLY_FILLED)


class IllegalTransition(ValueError):
    """A status change the lifecycle does not allow (e.g. FILLED -> CANCELED): a venue or bookkeeping bug."""

    def __init__(self, client_order_id: str, old: OrderStatus, new: OrderStatus) -> None:
        allowed = ", ".join(s.value for s in sorted(LEGAL[old], key=lambda s: s.value)) or "nothing (final)"
        super().__init__(f"order {client_order_id}: {old.value} -> {new.value} is not a legal transition; "
                         f"from {old.value} allowed: {allowed}")
        self.old, self.new = old, new


def is_legal(old: OrderStatus, new: OrderStatus) -> bool:
    return new in LEGAL[old]


def status_path(client_order_id: str, old: OrderStatus, new: OrderStatus, filled_changed: bool = False) -> list[OrderStatus]:
    """The statuses to record, in order, to move an order from `old` to `new` (empty: nothing to record).

    - same status: nothing, except PARTIALLY_FILLED -> PARTIALLY_FILLED when more quantity filled;
    - NEW -> PARTIALLY_FILLED / FILLED / CANCELED / EXPIRED after an acknowledgement: SUBMITTED is recorded first;
    - anything else must be a legal transition, else IllegalTransition.
    """
    if old == new:
        return [new] if (new is S.PARTIALLY_FILLED and filled_changed) else []
    if old is S.NEW and new in (S.PARTIALLY_FILLED, S.FILLED):
        return [S.SUBMITTED, new]
    if not is_legal(old, new):
        raise IllegalTransition(client_order_id, old, new)
    return [new]
