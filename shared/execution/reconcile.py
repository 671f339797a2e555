"""Reconciliation: compare our book (the database) with the venue's reports and say what to fix. Pure: it works on
venue-neutral reports (OrderReport, PositionReport) that every Broker produces, so a live adapter reuses it; the
agent cycle (shared/cycle.py) carries the plan out.

Steps (the cycle runs them in this order, each on fresh reports):
  1. orders      every order our book thinks is working: the venue's report is applied (a fill while we were down,
                 a cancel, an expiry); a NEW order the venue has never heard of was never sent (we crashed before
                 sending it): it EXPIRES. Then the venue's fills since the last one we recorded are applied once.
  2. positions   book vs venue per symbol: a venue position the book lacks is ADOPTED (and alerted); a book position
                 the venue no longer has is CLOSED (when no fill explained it); a different size is RESIZED.
  3. stops       on markets that hold exchange-side stops, every position needs exactly one working reduce-only
                 stop for its full size on the closing side: missing -> placed; wrong size or duplicates -> canceled
                 and placed again; a working reduce-only order without a position -> canceled.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from shared.execution.accounting import EPS
from shared.execution.models import OrderReport, OrderStatus, OrderType, PositionReport

WORKING = (OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED)


@dataclass(frozen=True)
class BookOrder:
    client_order_id: str
    symbol: str
    status: OrderStatus
    intent: str = ""


@dataclass(frozen=True)
class BookPosition:
    id: int
    symbol: str
    qty: float  # signed
    entry_price: float


@dataclass(frozen=True)
class OrderPlan:
    updates: tuple[OrderReport, ...] = ()  # venue reports that differ from the book
    never_sent: tuple[BookOrder, ...] = ()  # NEW in the book, unknown at the venue
    lost: tuple[BookOrder, ...] = ()  # acknowledged once, now unknown at the venue (venue-side loss)


@dataclass(frozen=True)
class PositionPlan:
    adopt: tuple[PositionReport, ...] = ()
    vanished: tuple[BookPosition, ...] = ()
    resize: tuple[tuple[BookPosition, PositionReport], ...] = ()

    @property
    def clean(self) -> bool:
        return not (self.adopt or self.vanished or self.resize)


@dataclass(frozen=True)
class StopPlan:
    missing: tuple[PositionReport, ...] = ()  # no working stop: place one
    replace: tuple[tuple[PositionReport, tuple[OrderReport, ...]], ...] = ()  # cancel these, then place one
    orphans: tuple[OrderReport, ...] = ()  # working reduce-only orders without a position: cancel

    @property
    def clean(self) -> bool:
        return not (self.missing or self.replace or self.orphans)


@dataclass
class ReconcileReport:
    """What a reconciliation did, for the events table and the log."""

    applied_orders: list[str] = field(default_factory=list)
    expired_unsent: list[str] = field(default_factory=list)
    fills_applied: int = 0
    adopted: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    resized: list[str] = field(default_factory=list)
    stops_placed: list[str] = field(default_factory=list)
    stops_canceled: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any((self.applied_orders, self.expired_unsent, self.fills_applied, self.adopted, self.closed,
                    self.resized, self.stops_placed, self.stops_canceled))

    def summary(self) -> str:
        parts = []
        for label, items in (("orders updated", self.applied_orders), ("never-sent orders expired", self.expired_unsent),
                             ("positions adopted", self.adopted), ("positions closed", self.closed),
                             ("positions resized", self.resized), ("stops placed", self.stops_placed),
                             ("stops canceled", self.stops_canceled)):
            if items:
                parts.append(f"{label}: {', '.join(items)}")
        if self.fills_applied:
            parts.append(f"{self.fills_applied} venue fills applied")
        return "; ".join(parts) or "book and venue agree"

    def to_dict(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if v}


def plan_orders(book: Iterable[BookOrder], venue: Mapping[str, OrderReport | None]) -> OrderPlan:
    """`venue` maps each book order's client id to the venue's report (None: the venue does not know it)."""
    updates, never_sent, lost = [], [], []
    for o in book:
        rep = venue.get(o.client_order_id)
        if rep is None:
            (never_sent if o.status is OrderStatus.NEW else lost).append(o)
        elif rep.status is not o.status or o.status is OrderStatus.PARTIALLY_FILLED:
            updates.append(rep)
    return OrderPlan(tuple(updates), tuple(never_sent), tuple(lost))


def plan_positions(book: Iterable[BookPosition], venue: Iterable[PositionReport],
                   lot_step: Callable[[str], float]) -> PositionPlan:
    """Adopt / close / resize so that the book holds what the venue holds (sizes equal within half a lot)."""
    at_venue = {p.symbol: p for p in venue if abs(p.qty) > EPS}
    ours = {p.symbol: p for p in book}
    adopt = tuple(p for s, p in sorted(at_venue.items()) if s not in ours)
    vanished = tuple(p for s, p in sorted(ours.items()) if s not in at_venue)
    resize = tuple((ours[s], at_venue[s]) for s in sorted(set(ours) & set(at_venue))
                   if abs(ours[s].qty - at_venue[s].qty) > max(lot_step(s) / 2, EPS))
    return PositionPlan(adopt, vanished, resize)


def _is_stop_for(o: OrderReport, p: PositionReport) -> bool:
    return (o.symbol == p.symbol and o.reduce_only and o.type is OrderType.STOP_MARKET and o.status in WORKING
            and o.side is p.side.opposite())


def plan_stops(positions: Iterable[PositionReport], open_orders: Iterable[OrderReport],
               needs_stop: Callable[[str], bool], lot_step: Callable[[str], float]) -> StopPlan:
    """Every position on a market with exchange-side stops has exactly one working reduce-only stop of its size."""
    orders = [o for o in open_orders if o.status in WORKING]
    held = {p.symbol: p for p in positions if abs(p.qty) > EPS}
    missing, replace = [], []
    for sym, p in sorted(held.items()):
        if not needs_stop(sym):
            continue
        stops = [o for o in orders if _is_stop_for(o, p)]
        if not stops:
            missing.append(p)
        elif len(stops) > 1 or abs(stops[0].qty - stops[0].filled_qty - abs(p.qty)) > max(lot_step(sym) / 2, EPS):
            replace.append((p, tuple(stops)))
    orphans = tuple(o for o in orders if o.reduce_only and (o.symbol not in held or o.side is held[o.symbol].side))
    return StopPlan(tuple(missing), tuple(replace), orphans)
