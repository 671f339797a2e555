"""Placeholder signal: a fresh EMA cross filtered by RSI (the full signal library replaces it)."""
from __future__ import annotations

import numpy as np
import talib

from shared.config.profiles import SignalParams
from shared.signals.base import Action, Evaluation, SymbolContext

FRESH_CROSS_CANDLES = 3  # a cross older than this is stale: the move already happened


class EmaCrossEngine:
    timeframes: tuple[str, ...] = ()

    def __init__(self, params: SignalParams) -> None:
        self.p = params

    def evaluate(self, ctx: SymbolContext) -> Evaluation:
        close = ctx.base.close
        if len(close) < self.p.ema_slow + FRESH_CROSS_CANDLES:
            return Evaluation(Action.WAIT, 0.0, f"warming up: {len(close)} of {self.p.ema_slow + FRESH_CROSS_CANDLES} candles")
        fast = talib.EMA(close, self.p.ema_fast)
        slow = talib.EMA(close, self.p.ema_slow)
        rsi = float(talib.RSI(close, self.p.rsi_period)[-1])
        above = fast > slow
        recent = above[-FRESH_CROSS_CANDLES - 1:]
        crossed_up = bool(above[-1] and not recent.all())
        crossed_down = bool(not above[-1] and recent.any())
        details = {"ema_fast": round(float(fast[-1]), 8), "ema_slow": round(float(slow[-1]), 8), "rsi": round(rsi, 2),
                   "close": float(close[-1])}
        spread = float((fast[-1] - slow[-1]) / slow[-1]) if slow[-1] else 0.0
        confidence = float(np.clip(abs(spread) * 200, 0.1, 1.0))
        pos = ctx.position
        if pos is not None and ((pos.qty > 0 and not above[-1]) or (pos.qty < 0 and above[-1])):
            return Evaluation(Action.CLOSE, confidence, f"trend turned against the {'long' if pos.qty > 0 else 'short'}: "
                              f"EMA{self.p.ema_fast} {'<' if pos.qty > 0 else '>'} EMA{self.p.ema_slow}", details, "ema_cross")
        if crossed_up:
            if rsi >= self.p.rsi_overbought:
                return Evaluation(Action.WAIT, 0.0, f"EMA cross up but RSI {rsi:.1f} >= {self.p.rsi_overbought} (top)", details)
            return Evaluation(Action.BUY, confidence, f"EMA{self.p.ema_fast} crossed above EMA{self.p.ema_slow}, RSI {rsi:.1f}",
                              details, "ema_cross")
        if crossed_down:
            if rsi <= self.p.rsi_oversold:
                return Evaluation(Action.WAIT, 0.0, f"EMA cross down but RSI {rsi:.1f} <= {self.p.rsi_oversold} (bottom)", details)
            return Evaluation(Action.SELL, confidence, f"EMA{self.p.ema_fast} crossed below EMA{self.p.ema_slow}, RSI {rsi:.1f}",
                              details, "ema_cross")
        trend = "up" if above[-1] else "down"
        return Evaluation(Action.WAIT, 0.0, f"no fresh cross (trend {trend}, RSI {rsi:.1f})", details)
