"""Short momentum (futures): the mirror of momentum; SELL on a persistent accelerating down-move."""
from __future__ import annotations

from shared.signals.base import SymbolContext
from shared.signals.strategies.base import Features, Signal, Strategy
from shared.signals.strategies.momentum import MomentumParams, momentum_signals


class ShortMomentum(Strategy[MomentumParams]):
    """SELL on a persistent accelerating down-move unless RSI is already oversold; CLOSE a short when it fades.

    Where shorts are impossible (spot) it never fires at all, not even to close a long: on spot the long side
    belongs to the long strategies and the exits.
    """

    name = "short_momentum"
    Params = MomentumParams

    def min_bars(self) -> int:
        p = self.params
        return max(p.lookback + p.persistence + 1, p.rsi_period + 1)

    def _signals(self, ctx: SymbolContext, f: Features) -> list[Signal]:
        if not ctx.allow_short:
            return []
        return momentum_signals(ctx, f, self.params, -1, self.name)
