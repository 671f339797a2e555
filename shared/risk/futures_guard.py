"""Futures entry guards: leverage cap, isolated margin, distance to liquidation, funding filter,
and the protective (reduce-only) stop price that always lies between entry and liquidation."""
from __future__ import annotations

import math
from dataclasses import dataclass

from shared.execution.accounting import liquidation_price, round_tick
from shared.execution.models import Side
from shared.risk.config import FuturesConfig
from shared.risk.verdict import RiskVerdict


def cap_leverage(requested: int, config_max: int, venue_max: int) -> tuple[int, str]:
    """min(requested, TB max leverage, the venue bracket's max), at least 1."""
    lev = max(1, min(requested, config_max, max(venue_max, 1)))
    parts = [f"requested {requested}x"]
    if lev < requested:
        parts.append(f"capped to {lev}x (config max {config_max}x, venue max {venue_max}x)")
    return lev, ", ".join(parts)


def check_margin_mode(mode: str) -> RiskVerdict:
    if mode == "isolated":
        return RiskVerdict.ok("margin_mode", "isolated margin", margin_mode=mode)
    return RiskVerdict.reject("margin_mode", f"margin mode {mode!r} not allowed: only isolated", margin_mode=mode)


def entry_liquidation_price(side: Side, entry: float, leverage: int, mmr: float) -> float | None:
    """Isolated liquidation price of a fresh position: margin = |q| * entry / leverage (size does not matter)."""
    return liquidation_price(side.sign * 1.0, entry, entry / leverage, mmr)


def max_leverage_for_distance(side: Side, entry: float, mmr: float, min_distance: float) -> int:
    """Largest whole leverage whose liquidation stays at least `min_distance` (price units) from entry.

    long:  L <= 1 / (1 - (1 - mmr)(1 - x))     short: L <= 1 / ((1 + mmr)(1 + x) - 1)     x = min_distance / entry
    """
    x = min_distance / entry
    denom = 1 - (1 - mmr) * (1 - x) if side is Side.BUY else (1 + mmr) * (1 + x) - 1
    if denom <= 0:
        return 125
    return max(0, int(math.floor(1 / denom + 1e-9)))


def check_liquidation_distance(side: Side, entry: float, leverage: int, mmr: float, atr: float | None,
                               k_atr: float) -> RiskVerdict:
    """Reject when |entry - liquidation| < K x ATR."""
    liq = entry_liquidation_price(side, entry, leverage, mmr)
    if atr is None or atr <= 0:
        return RiskVerdict.reject("liquidation_distance", "liquidation distance needs an ATR (none given)",
                                  entry=entry, leverage=leverage, liquidation_price=liq)
    distance = abs(entry - liq) if liq is not None else entry
    need = k_atr * atr
    nums = dict(entry=entry, leverage=leverage, mmr=mmr, liquidation_price=liq, distance=distance, atr=atr,
                k_atr=k_atr, required_distance=need, max_leverage_for_distance=max_leverage_for_distance(side, entry, mmr, need))
    text = (f"liquidation {liq:.8g} is {distance:.8g} from entry {entry:.8g} at {leverage}x; "
            f"need >= {k_atr:g} x ATR {atr:.8g} = {need:.8g}")
    if distance < need:
        return RiskVerdict.reject("liquidation_distance", text + f" (max safe leverage "
                                  f"{nums['max_leverage_for_distance']}x)", **nums)
    return RiskVerdict.ok("liquidation_distance", text, **nums)


def check_funding(side: Side, rate: float | None, limit_pct: float) -> RiskVerdict:
    """Reject opening a position that would PAY an extreme funding rate: long with rate > +limit, short with rate < -limit.
    `rate` is a fraction per funding interval (0.0001 = 0.01 %)."""
    if rate is None:
        return RiskVerdict.ok("funding", "no funding rate known", limit_pct=limit_pct)
    pct = rate * 100
    nums = dict(funding_rate_pct=pct, limit_pct=limit_pct, side=side.value)
    pays = (side is Side.BUY and pct > limit_pct) or (side is Side.SELL and pct < -limit_pct)
    who = "long" if side is Side.BUY else "short"
    if pays:
        return RiskVerdict.reject("funding", f"funding {pct:+.4f}% per interval: a {who} would pay more than "
                                  f"{limit_pct}%", **nums)
    return RiskVerdict.ok("funding", f"funding {pct:+.4f}% within +/-{limit_pct}% for a {who}", **nums)


@dataclass(frozen=True)
class StopPlan:
    price: float | None  # None when no valid stop exists (then the entry must not be made)
    method: str
    distance_pct: float | None  # |entry - stop| / entry * 100
    liquidation_price: float | None
    reason: str


def _to_tick(price: float, tick: float, up: bool) -> float:
    if tick <= 0:
        return price
    steps = price / tick
    return round((math.ceil(steps - 1e-9) if up else math.floor(steps + 1e-9)) * tick, 12)


def protective_stop_price(side: Side, entry: float, tick: float, stop_loss_pct: float, atr: float | None,
                          liquidation: float | None, cfg: FuturesConfig) -> StopPlan:
    """The reduce-only stop: entry -/+ stop_loss_pct % (method pct), -/+ stop_atr_multiple x ATR (atr), or the
    closer of the two (tighter); rounded to the tick; moved inside liquidation when it would lie past it.

    long:  liquidation < stop < entry        short: entry < stop < liquidation
    """
    d = side.sign  # +1 long: the stop is below entry
    pct_stop = entry * (1 - d * stop_loss_pct / 100)
    atr_stop = entry - d * cfg.stop_atr_multiple * atr if atr else None
    method, notes = cfg.stop_method, []
    if method == "pct" or atr_stop is None:
        if method != "pct":
            notes.append(f"no ATR: stop_method {method} falls back to pct")
        raw, method = pct_stop, "pct"
    elif method == "atr":
        raw = atr_stop
    else:
        raw = max(pct_stop, atr_stop) if d > 0 else min(pct_stop, atr_stop)
        method = "tighter:" + ("pct" if raw == pct_stop else "atr")
    stop = round_tick(raw, tick)
    if liquidation is not None and (stop - liquidation) * d <= 0:
        inside = liquidation + d * cfg.stop_liq_buffer * abs(entry - liquidation)
        stop = _to_tick(inside, tick, up=d > 0)
        notes.append(f"stop {raw:.8g} lay past liquidation {liquidation:.8g}: moved to {stop:.8g}")
    if (entry - stop) * d <= 0:  # rounding reached the entry: one tick away
        stop = _to_tick(entry - d * tick, tick, up=d < 0)
    lower_ok = stop > 0 if d > 0 else True
    valid = (entry - stop) * d > 0 and lower_ok and (liquidation is None or (stop - liquidation) * d > 0)
    if not valid:
        return StopPlan(None, method, None, liquidation,
                        f"no stop fits between entry {entry:.8g} and liquidation {liquidation} at tick {tick}")
    dist = abs(entry - stop) / entry * 100
    text = f"stop {stop:.8g} ({method}, {dist:.3f}% from entry {entry:.8g})"
    return StopPlan(stop, method, dist, liquidation, "; ".join([text, *notes]))
