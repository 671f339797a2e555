"""Exit rules as one pure function of (position state, candle, rules): the agent cycle runs it on every candle that
closed since it last looked, and a backtester can run it on every candle of a replay. No clock, no I/O.

Order within one candle (the conservative one: the bad news first):
  1. stop loss        long: low <= stop  -> exit all at min(open, stop)  (short mirrored: high >= stop)
  2. trailing stop    once the best price reached entry x (1 + activation %), the stop trails the high watermark
                      (as it stood before this candle) by trailing_stop_pct: long exits when low <= hw x (1 - t %)
  3. take profit      tier i (gain g_i %, fraction f_i of the largest size held) when high >= entry x (1 + g_i %);
                      every tier reached in this candle is taken at once; the last tier closes what is left
  4. time exit        candle close - opened >= time_exit_minutes and the position is not in profit at the close
  5. opposite signal  CLOSE, or a signal for the other side, at the close (when exit_on_opposite_signal)
Watermarks move with each candle's high and low (after the trailing check, so a candle cannot trail its own low).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from shared.execution.accounting import round_step

EPS = 1e-12


@dataclass(frozen=True)
class Bar:
    """One closed candle; times are epoch seconds (open and close)."""

    open_time: float
    close_time: float
    open: float
    high: float
    low: float
    close: float


@dataclass(frozen=True)
class ExitRules:
    stop_loss_pct: float
    take_profit: tuple[tuple[float, float], ...] = ()  # (gain %, fraction of the largest size held), ascending
    trailing_stop_pct: float | None = None
    trailing_activation_pct: float = 0.0
    time_exit_minutes: float | None = None
    exit_on_opposite_signal: bool = True
    cooldown_minutes: float = 0.0

    @classmethod
    def from_profile(cls, profile: Any) -> "ExitRules":
        """From a shared.config.profiles.Profile: risk.stop_loss_pct and the `exits:` section (without tiers: one
        tier at risk.take_profit_pct closing everything)."""
        ex = getattr(profile, "exits", None)
        tiers = tuple((t.at_pct, t.fraction) for t in ex.take_profit) if ex is not None and ex.take_profit else (
            (profile.risk.take_profit_pct, 1.0),)
        if ex is None:
            return cls(profile.risk.stop_loss_pct, tiers)
        return cls(profile.risk.stop_loss_pct, tiers, ex.trailing_stop_pct, ex.trailing_activation_pct,
                   ex.time_exit_minutes, ex.exit_on_opposite_signal, ex.cooldown_minutes)


@dataclass(frozen=True)
class PositionState:
    direction: int  # +1 long, -1 short
    entry_price: float
    qty: float  # current size, absolute
    peak_qty: float  # largest absolute size held: take-profit fractions are of this
    opened_at: float  # epoch seconds (market time)
    high_watermark: float
    low_watermark: float
    tp_tiers_done: int = 0
    stop_price: float | None = None  # the protective stop; None -> entry x (1 -/+ stop_loss_pct %)

    @classmethod
    def opened(cls, direction: int, entry: float, qty: float, opened_at: float,
               stop_price: float | None = None) -> "PositionState":
        return cls(direction, entry, abs(qty), abs(qty), opened_at, entry, entry, 0, stop_price)

    def stop_level(self, rules: ExitRules) -> float:
        if self.stop_price:
            return self.stop_price
        return self.entry_price * (1 - self.direction * rules.stop_loss_pct / 100)

    def gain_pct(self, price: float) -> float:
        return (price / self.entry_price - 1) * 100 * self.direction


@dataclass(frozen=True)
class ExitDecision:
    rule: str  # "" (hold), stop_loss, trailing_stop, take_profit, time_exit, opposite_signal
    qty: float  # to close, absolute (0 when holding)
    price: float  # trigger price: what a backtester fills at (the cycle closes at market)
    reason: str
    state: PositionState  # the state after this candle (watermarks, take-profit tiers)
    numbers: dict[str, Any] = field(default_factory=dict)

    @property
    def exits(self) -> bool:
        return self.qty > EPS

    @property
    def full(self) -> bool:
        return self.exits and self.qty >= self.state.qty - EPS


def _hold(state: PositionState, why: str, **numbers: Any) -> ExitDecision:
    return ExitDecision("", 0.0, 0.0, why, state, numbers)


def evaluate_exit(state: PositionState, bar: Bar, rules: ExitRules, signal: str | None = None,
                  lot_step: float = 0.0) -> ExitDecision:
    """The exit (if any) this candle triggers for a position in `state`, and the state after it."""
    d = state.direction
    long = d > 0
    worst, best = (bar.low, bar.high) if long else (bar.high, bar.low)
    stop = state.stop_level(rules)
    if (worst - stop) * d <= 0:
        price = min(bar.open, stop) if long else max(bar.open, stop)
        return ExitDecision("stop_loss", state.qty, price,
                            f"stop loss: {'low' if long else 'high'} {worst:.8g} reached the stop {stop:.8g} "
                            f"(entry {state.entry_price:.8g}, {state.gain_pct(stop):+.2f}%)", state,
                            {"stop": stop, "entry": state.entry_price, "extreme": worst})
    if rules.trailing_stop_pct:
        mark = state.high_watermark if long else state.low_watermark
        if state.gain_pct(mark) >= rules.trailing_activation_pct:
            level = mark * (1 - d * rules.trailing_stop_pct / 100)
            if (level - stop) * d > 0 and (worst - level) * d <= 0:
                price = min(bar.open, level) if long else max(bar.open, level)
                return ExitDecision("trailing_stop", state.qty, price,
                                    f"trailing stop: {'low' if long else 'high'} {worst:.8g} reached {level:.8g} = "
                                    f"{rules.trailing_stop_pct:g}% from the {'high' if long else 'low'} watermark "
                                    f"{mark:.8g} (entry {state.entry_price:.8g}, {state.gain_pct(level):+.2f}%)",
                                    state, {"trail_level": level, "watermark": mark, "entry": state.entry_price})
    state = replace(state, high_watermark=max(state.high_watermark, bar.high),
                    low_watermark=min(state.low_watermark, bar.low))
    tiers = rules.take_profit
    reached = [i for i in range(state.tp_tiers_done, len(tiers))
               if (best - state.entry_price * (1 + d * tiers[i][0] / 100)) * d >= 0]
    if reached:
        done = reached[-1] + 1
        first = state.entry_price * (1 + d * tiers[reached[0]][0] / 100)
        price = max(bar.open, first) if long else min(bar.open, first)
        fraction = sum(tiers[i][1] for i in reached)
        closes_all = done == len(tiers)
        qty = state.qty if closes_all else min(state.qty, round_step(state.peak_qty * fraction, lot_step))
        new_state = replace(state, tp_tiers_done=done)
        gains = ", ".join(f"+{tiers[i][0]:g}%" for i in reached)
        nums = {"tiers": [i + 1 for i in reached], "fraction": fraction, "target": first, "entry": state.entry_price,
                "extreme": best}
        if qty <= EPS:
            return _hold(new_state, f"take-profit tier {gains} reached but {fraction:.0%} of {state.peak_qty:.8g} is "
                                    f"below one lot ({lot_step:g}); tier skipped", **nums)
        what = "rest of the position" if closes_all else f"{fraction:.0%} of the largest size"
        return ExitDecision("take_profit", qty, price,
                            f"take profit tier {','.join(str(i + 1) for i in reached)}/{len(tiers)} at {gains}: "
                            f"{'high' if long else 'low'} {best:.8g} reached {first:.8g}; closing {what}",
                            new_state, nums)
    held_min = (bar.close_time - state.opened_at) / 60
    if rules.time_exit_minutes and held_min >= rules.time_exit_minutes and state.gain_pct(bar.close) <= 0:
        return ExitDecision("time_exit", state.qty, bar.close,
                            f"time exit: held {held_min:.0f} min >= {rules.time_exit_minutes:g} and not in profit "
                            f"({state.gain_pct(bar.close):+.2f}% at {bar.close:.8g})", state,
                            {"held_minutes": held_min, "gain_pct": state.gain_pct(bar.close)})
    opposite = "SELL" if long else "BUY"
    if rules.exit_on_opposite_signal and signal in ("CLOSE", opposite):
        return ExitDecision("opposite_signal", state.qty, bar.close,
                            f"exit on signal {signal} against the {'long' if long else 'short'}", state,
                            {"signal": signal, "gain_pct": state.gain_pct(bar.close)})
    return _hold(state, f"holding {'long' if long else 'short'}: {state.gain_pct(bar.close):+.2f}% at {bar.close:.8g}, "
                        f"stop {stop:.8g}, take-profit tiers {state.tp_tiers_done}/{len(tiers)} done")
