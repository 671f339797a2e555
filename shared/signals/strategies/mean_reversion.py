"""Mean reversion: a close outside a Bollinger band confirmed by RSI, out again at the middle band."""
from __future__ import annotations

import math

from pydantic import Field, model_validator

from shared.signals.base import SymbolContext
from shared.signals.strategies.base import Features, Signal, Strategy, StrategyParams, directional, exit_at_level, r


class MeanReversionParams(StrategyParams):
    bb_period: int = Field(20, ge=2, le=500)
    bb_k: float = Field(2.0, gt=0, le=10, description="band width, standard deviations")
    rsi_period: int = Field(14, ge=2, le=200)
    rsi_oversold: float = Field(30.0, ge=0, lt=50, description="BUY below the lower band needs RSI below this")
    rsi_overbought: float = Field(70.0, gt=50, le=100, description="SELL above the upper band needs RSI above this")

    @model_validator(mode="after")
    def _ordered(self) -> "MeanReversionParams":
        if self.rsi_oversold >= self.rsi_overbought:
            raise ValueError("rsi_oversold must be below rsi_overbought")
        return self


class MeanReversion(Strategy[MeanReversionParams]):
    name = "mean_reversion"
    Params = MeanReversionParams

    def min_bars(self) -> int:
        p = self.params
        return max(p.bb_period, p.rsi_period + 1)

    def _signals(self, ctx: SymbolContext, f: Features) -> list[Signal]:
        p = self.params
        upper, mid, lower = (float(x[-1]) for x in f.bbands(p.bb_period, p.bb_k))
        rsi = float(f.rsi(p.rsi_period)[-1])
        close = float(f.close[-1])
        if any(math.isnan(x) for x in (upper, mid, lower, rsi)):
            return []
        width = upper - lower
        md = {"close": r(close, 10), "bb_upper": r(upper, 10), "bb_mid": r(mid, 10), "bb_lower": r(lower, 10),
              "rsi": r(rsi, 2), "bb_period": p.bb_period, "bb_k": p.bb_k}
        # Exit first: back at the mean is the whole trade.
        done = exit_at_level(ctx, self.name, close, mid, "the middle band", md)
        if done is not None:
            return done
        if width <= 0:
            return []  # a flat band has no "outside"
        if close < lower and rsi < p.rsi_oversold:
            stretch, gap, d = (lower - close) / width, p.rsi_oversold - rsi, +1
            reason = (f"{self.name}: close {close:.6g} below lower band {lower:.6g} "
                      f"({stretch:.2f} band widths), RSI {rsi:.1f} < {p.rsi_oversold:g} (oversold)")
        elif close > upper and rsi > p.rsi_overbought:
            stretch, gap, d = (close - upper) / width, rsi - p.rsi_overbought, -1
            reason = (f"{self.name}: close {close:.6g} above upper band {upper:.6g} "
                      f"({stretch:.2f} band widths), RSI {rsi:.1f} > {p.rsi_overbought:g} (overbought)")
        else:
            return []
        conf = 0.5 + 0.25 * min(1.0, stretch / 0.25) + 0.25 * min(1.0, gap / 15.0)
        md.update(stretch_bw=r(stretch, 4), rsi_gap=r(gap, 2))
        sig = directional(ctx, d, self.name, conf, reason, md)
        return [sig] if sig else []
