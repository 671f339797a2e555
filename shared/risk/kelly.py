"""Fractional Kelly from an agent's closed trades: how much of equity the record says to allocate.

    W = wins / n            R = mean(win PnL) / mean(|loss PnL|)
    K* = W - (1 - W) / R    (full Kelly; K* = W when there is no loss, K* = -inf-ish -> 0 when there is no win)
    allocation % = clamp(fraction * K* * 100, floor_pct, cap_pct)

Below `min_trades` closed trades Kelly does not apply and the estimate says so.
A trade with PnL == 0 counts as neither a win nor a loss for R but is counted in n (it lowers W).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from shared.risk.config import KellyConfig


@dataclass(frozen=True)
class KellyEstimate:
    applies: bool
    trades: int  # trades used (the most recent lookback_trades)
    min_trades: int
    win_rate: float | None = None
    payoff_ratio: float | None = None  # R; None when there is no loss (infinite)
    full_kelly: float | None = None
    fractional_kelly: float | None = None  # fraction * full_kelly, before floor/cap
    allocation_pct: float | None = None  # % of equity after floor and cap
    reason: str = ""


def kelly_estimate(pnls: Sequence[float], cfg: KellyConfig) -> KellyEstimate:
    """Kelly allocation from closed-trade PnLs ordered oldest to newest (only the last lookback_trades count)."""
    recent = [float(p) for p in pnls][-cfg.lookback_trades:]
    n = len(recent)
    if n < cfg.min_trades:
        return KellyEstimate(False, n, cfg.min_trades,
                             reason=f"Kelly not applied: {n} closed trades < {cfg.min_trades} needed")
    wins = [p for p in recent if p > 0]
    losses = [-p for p in recent if p < 0]
    w = len(wins) / n
    if not wins:
        full, r = 0.0, 0.0
    elif not losses:
        full, r = w, None
    else:
        r = (sum(wins) / len(wins)) / (sum(losses) / len(losses))
        full = w - (1 - w) / r
    frac = cfg.fraction * full
    alloc = min(max(frac * 100, cfg.floor_pct), cfg.cap_pct)
    bound = " (floor)" if frac * 100 < cfg.floor_pct else " (cap)" if frac * 100 > cfg.cap_pct else ""
    r_txt = "inf" if r is None else f"{r:.3f}"
    reason = (f"Kelly over {n} trades: W={w:.3f} R={r_txt} K*={full:.4f}; "
              f"{cfg.fraction:g}xK*={frac * 100:.2f}% -> {alloc:.2f}% of equity{bound}")
    return KellyEstimate(True, n, cfg.min_trades, w, r, full, frac, alloc, reason)
