"""Position arithmetic shared by the sim venue and our own position book: average cost, PnL, margin.

Formulas (docs/sim_venue.md gives worked examples):
- open or add:   entry = (|q| * entry + qty * price) / (|q| + qty);  isolated margin += qty * price / leverage
- reduce:        realised PnL = closed * (price - entry) * sign(q);  margin *= 1 - closed / |q|
- flip:          close all, then open the remainder at the same price.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from shared.execution.models import Side

EPS = 1e-12


@dataclass
class Holding:
    symbol: str
    qty: float = 0.0  # signed
    entry_price: float = 0.0
    margin: float = 0.0  # isolated margin (futures); 0 for spot
    leverage: int = 1

    @property
    def is_open(self) -> bool:
        return abs(self.qty) > EPS

    def unrealized_pnl(self, mark: float) -> float:
        return self.qty * (mark - self.entry_price)


def apply_fill(h: Holding, side: Side, qty: float, price: float, futures: bool, leverage: int | None = None) -> float:
    """Apply one fill to `h` in place and return the realised PnL (before fees)."""
    signed = side.sign * qty
    lev = leverage or h.leverage or 1
    if not h.is_open or math.copysign(1, h.qty) == math.copysign(1, signed):
        new_qty = h.qty + signed
        h.entry_price = (abs(h.qty) * h.entry_price + qty * price) / abs(new_qty)
        if futures:
            h.margin += qty * price / lev
            h.leverage = lev
        h.qty = round(new_qty, 12)  # no float residue: sizes are lot multiples
        return 0.0
    closing = min(qty, abs(h.qty))
    pnl = closing * (price - h.entry_price) * math.copysign(1, h.qty)
    if futures:
        h.margin *= 1 - closing / abs(h.qty)
    h.qty = round(h.qty + math.copysign(closing, signed), 12)
    if not h.is_open:
        h.qty, h.entry_price, h.margin = 0.0, 0.0, 0.0
    remainder = qty - closing
    if remainder > EPS:
        apply_fill(h, side, remainder, price, futures, lev)
    return pnl


def liquidation_price(qty: float, entry: float, margin: float, mmr: float) -> float | None:
    """Isolated-margin liquidation price: where margin + PnL equals the maintenance margin mmr * |q| * P.

    long:  P = (entry - margin/q) / (1 - mmr)      short: P = (entry + margin/|q|) / (1 + mmr)
    With margin = |q| * entry / L this is entry * (1 - 1/L) / (1 - mmr) for a long.
    """
    if abs(qty) <= EPS:
        return None
    if qty > 0:
        p = (entry - margin / qty) / (1 - mmr)
        return max(p, 0.0)
    return (entry + margin / abs(qty)) / (1 + mmr)


def funding_amount(qty: float, mark: float, rate: float) -> float:
    """Cash change from one funding event: longs pay shorts when the rate is positive."""
    return -qty * mark * rate


def _decimals(step: float) -> int:
    """Decimal places of a lot step or tick (0.001 -> 3, 0.5 -> 1, 1e-05 -> 5), so results print as the venue's."""
    text = f"{step:.12f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def round_step(value: float, step: float) -> float:
    """Round down to a multiple of `step` (lot sizes must never round up past what risk allowed)."""
    if step <= 0:
        return value
    return round(math.floor(value / step + 1e-9) * step, _decimals(step))


def round_tick(price: float, tick: float) -> float:
    return round(round(price / tick) * tick, _decimals(tick)) if tick > 0 else price
