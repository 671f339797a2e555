"""VWAP reversion: price stretched far from the session VWAP tends to come back toward it."""
from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from shared.signals.base import SymbolContext
from shared.signals.strategies.base import Features, Signal, Strategy, StrategyParams, directional, exit_at_level, r


class VwapReversionParams(StrategyParams):
    stretch_unit: Literal["atr", "pct"] = Field("atr", description="measure the distance to VWAP in ATRs or in %")
    stretch: float = Field(2.0, gt=0, le=100, description="distance (in stretch_unit) beyond which we fade the move")
    atr_period: int = Field(14, ge=2, le=200)
    min_session_bars: int = Field(3, ge=1, le=10_000, description="candles of today (UTC) before VWAP is trusted")


class VwapReversion(Strategy[VwapReversionParams]):
    name = "vwap_reversion"
    Params = VwapReversionParams

    def min_bars(self) -> int:
        return self.params.atr_period + 1 if self.params.stretch_unit == "atr" else 1

    def _signals(self, ctx: SymbolContext, f: Features) -> list[Signal]:
        p = self.params
        vwap, bars = f.session()
        close = float(f.close[-1])
        if bars < p.min_session_bars or math.isnan(vwap) or vwap <= 0:
            return []
        md: dict[str, float | int | str] = {"close": r(close, 10), "session_vwap": r(vwap, 10), "session_bars": bars,
                                            "stretch_unit": p.stretch_unit, "stretch_min": p.stretch}
        done = exit_at_level(ctx, self.name, close, vwap, "session VWAP", md)
        if done is not None:
            return done
        if p.stretch_unit == "atr":
            atr = float(f.atr(p.atr_period)[-1])
            if math.isnan(atr) or atr <= 0:
                return []
            measure, unit = abs(close - vwap) / atr, "ATR"
            md["atr"] = r(atr, 10)
        else:
            measure, unit = abs(close - vwap) / vwap * 100.0, "%"
        md["stretch"] = r(measure, 4)
        if measure <= p.stretch:
            return []
        d = +1 if close < vwap else -1
        conf = min(1.0, 0.5 + 0.25 * (measure / p.stretch - 1.0))
        reason = (f"{self.name}: close {close:.6g} is {measure:.2f}{unit} {'below' if d > 0 else 'above'} "
                  f"session VWAP {vwap:.6g} (> {p.stretch:g}{unit}), expect reversion")
        sig = directional(ctx, d, self.name, conf, reason, md)
        return [sig] if sig else []
