"""Breakout: a close beyond the N-candle high/low on a volume spike."""
from __future__ import annotations

import math

import numpy as np
from pydantic import Field

from shared.signals.base import SymbolContext
from shared.signals.strategies.base import Features, Signal, Strategy, StrategyParams, directional, r


class BreakoutParams(StrategyParams):
    lookback: int = Field(20, ge=2, le=1000, description="range of the previous N candles (the current one excluded)")
    volume_period: int = Field(20, ge=3, le=1000, description="window of the volume z-score")
    volume_z: float = Field(2.0, gt=0, le=20, description="volume z-score the breakout candle needs")
    atr_period: int = Field(14, ge=2, le=200, description="ATR that scales the breakout distance in the confidence")


class Breakout(Strategy[BreakoutParams]):
    name = "breakout"
    Params = BreakoutParams

    def min_bars(self) -> int:
        p = self.params
        return max(p.lookback + 1, p.volume_period, p.atr_period + 1)

    def _signals(self, ctx: SymbolContext, f: Features) -> list[Signal]:
        p = self.params
        n = p.lookback
        hi = float(np.max(f.high[-n - 1:-1]))
        lo = float(np.min(f.low[-n - 1:-1]))
        close = float(f.close[-1])
        z = float(f.volume_z(p.volume_period)[-1])
        atr = float(f.atr(p.atr_period)[-1])
        if math.isnan(z) or math.isnan(atr) or z <= p.volume_z:
            return []
        if close > hi:
            dist, d, what = close - hi, +1, f"above the {n}-candle high {hi:.6g}"
        elif close < lo:
            dist, d, what = lo - close, -1, f"below the {n}-candle low {lo:.6g}"
        else:
            return []
        dist_atr = dist / atr if atr > 0 else 1.0
        conf = 0.5 + 0.25 * min(1.0, dist_atr) + 0.25 * min(1.0, (z - p.volume_z) / p.volume_z)
        md = {"close": r(close, 10), "range_high": r(hi, 10), "range_low": r(lo, 10), "lookback": n,
              "volume_z": r(z, 3), "volume_z_min": p.volume_z, "atr": r(atr, 10), "distance_atr": r(dist_atr, 4)}
        reason = f"{self.name}: close {close:.6g} {what} ({dist_atr:.2f} ATR) on volume z {z:.2f} > {p.volume_z:g}"
        sig = directional(ctx, d, self.name, conf, reason, md)
        return [sig] if sig else []
