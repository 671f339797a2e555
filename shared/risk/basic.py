"""Placeholder risk rule: cap each entry at a share of equity and the number of open positions."""
from __future__ import annotations

from dataclasses import dataclass

from shared.config.profiles import RiskParams
from shared.execution.accounting import round_step
from shared.execution.models import MarketInfo


@dataclass(frozen=True)
class Sizing:
    qty: float
    notional: float
    reason: str  # why this size, or why none


def size_entry(risk: RiskParams, market: MarketInfo, equity: float, free: float, price: float, leverage: int,
               open_positions: int) -> Sizing:
    """Spot: notional = equity * max_position_pct, limited by free cash.
    Futures: margin = equity * max_position_pct, notional = margin * leverage, limited by free margin."""
    if open_positions >= risk.max_open_positions:
        return Sizing(0.0, 0.0, f"max open positions reached ({open_positions}/{risk.max_open_positions})")
    budget = min(equity * risk.max_position_pct / 100, free * 0.98)  # 2 % headroom for fees and slippage
    notional = budget * leverage
    qty = round_step(notional / price, market.lot_step)
    if qty * price < market.min_notional:
        return Sizing(0.0, 0.0, f"size {qty * price:.2f} below venue minimum {market.min_notional}")
    return Sizing(qty, qty * price, f"{risk.max_position_pct}% of equity {equity:.2f}" + (f" at {leverage}x" if leverage > 1 else ""))
