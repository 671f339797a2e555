"""Momentum: a persistent, accelerating move in one direction, filtered by RSI so we do not buy tops."""
from __future__ import annotations

import math

import numpy as np
from pydantic import Field

from shared.signals.base import Action, SymbolContext
from shared.signals.strategies.base import Features, Signal, Strategy, StrategyParams, directional, position_side, r


class MomentumParams(StrategyParams):
    lookback: int = Field(10, ge=1, le=500, description="velocity period, candles")
    threshold_pct: float = Field(1.0, gt=0, le=100, description="|velocity| needed, % change over lookback")
    persistence: int = Field(3, ge=1, le=100, description="consecutive closed candles the entry condition must hold")
    rsi_period: int = Field(14, ge=2, le=200)
    rsi_overbought: float = Field(75.0, gt=50, le=100, description="momentum: no BUY at or above (buying a top)")
    rsi_oversold: float = Field(25.0, ge=0, lt=50, description="short_momentum: no SELL at or below (selling a bottom)")
    exit_velocity_pct: float = Field(0.0, ge=0, le=100,
                                     description="close when velocity is this far against the position, decelerating")


def momentum_signals(ctx: SymbolContext, f: Features, p: MomentumParams, direction: int, source: str) -> list[Signal]:
    """The shared rule for momentum (+1, long side) and short_momentum (-1, its mirror)."""
    d = direction
    v = f.velocity(p.lookback)
    a = f.acceleration(p.lookback)
    rsi = float(f.rsi(p.rsi_period)[-1])
    v_now, a_now = float(v[-1]), float(a[-1])
    if math.isnan(rsi) or math.isnan(v_now) or math.isnan(a_now):
        return []
    k = p.persistence
    # Persistence read from the candles themselves: no counter to carry, identical after a restart or in a backtest.
    # NaN compares False, so a window not yet fully defined never counts as held.
    held = bool(np.all(d * v[-k:] > p.threshold_pct) and np.all(d * a[-k:] > 0))
    md = {"velocity_pct": r(v_now, 4), "acceleration_pp": r(a_now, 4), "rsi": r(rsi, 2), "lookback": p.lookback,
          "threshold_pct": p.threshold_pct, "persistence": k, "held": held, "close": r(f.close[-1], 10)}
    word = "up" if d > 0 else "down"

    if position_side(ctx) == d and d * v_now <= -p.exit_velocity_pct and d * a_now < 0:
        conf = min(1.0, 0.5 + 0.5 * abs(v_now) / p.threshold_pct)
        return [Signal(Action.CLOSE, source, conf,
                       f"{source}: {word}-move faded, velocity {v_now:+.2f}%/{p.lookback} and decelerating "
                       f"({a_now:+.3f}pp) -> close the {'long' if d > 0 else 'short'}", md)]
    if not held:
        return []
    if d > 0 and rsi >= p.rsi_overbought:
        return []  # the move is real but late: RSI says buyers are exhausted
    if d < 0 and rsi <= p.rsi_oversold:
        return []
    excess = (abs(v_now) - p.threshold_pct) / p.threshold_pct
    if d > 0:
        room = (p.rsi_overbought - rsi) / (p.rsi_overbought - 50)
    else:
        room = (rsi - p.rsi_oversold) / (50 - p.rsi_oversold)
    conf = 0.5 + 0.3 * min(1.0, excess) + 0.2 * min(1.0, max(0.0, room))
    md["rsi_room"] = r(room, 4)
    cmp = ">" if d > 0 else "<"
    rsi_rule = f"RSI {rsi:.1f} < {p.rsi_overbought:g}" if d > 0 else f"RSI {rsi:.1f} > {p.rsi_oversold:g}"
    reason = (f"{source}: velocity {v_now:+.2f}%/{p.lookback} {cmp} {'+' if d > 0 else '-'}{p.threshold_pct:g}% "
              f"and accelerating {word} for {k} candles, {rsi_rule}")
    sig = directional(ctx, d, source, conf, reason, md)
    return [sig] if sig else []


class Momentum(Strategy[MomentumParams]):
    """BUY on a persistent accelerating up-move; CLOSE a long when the move fades (and a short on an up-move)."""

    name = "momentum"
    Params = MomentumParams

    def min_bars(self) -> int:
        p = self.params
        return max(p.lookback + p.persistence + 1, p.rsi_period + 1)

    def _signals(self, ctx: SymbolContext, f: Features) -> list[Signal]:
        return momentum_signals(ctx, f, self.params, +1, self.name)
