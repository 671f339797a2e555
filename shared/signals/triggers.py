"""Trigger scan: a cheap pass over the whole universe that picks the few symbols worth a full evaluation.

Four triggers, each pure numpy on the last few dozen candles: volume spike, 24h range breakout, momentum
move, V-shaped reversal. Each trigger has a strength (its measure over its threshold, >= 1 when it fires,
capped) and a confidence (0..1, how clean the evidence is); a symbol ranks by its best strength x confidence.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from pydantic import Field

from shared.config.strict import StrictModel
from shared.market.candles import Candles


class VolumeSpikeTrigger(StrictModel):
    enabled: bool = True
    window: int = Field(20, ge=2, le=1000, description="average volume of the previous N candles")
    min_ratio: float = Field(3.0, gt=1, le=1000, description="last volume / that average")


class RangeBreakoutTrigger(StrictModel):
    enabled: bool = True
    range_hours: float = Field(24.0, gt=0, le=720, description="range of the previous hours (last candle excluded)")
    min_excess_pct: float = Field(0.1, gt=0, le=100, description="close beyond the range by at least this %")


class MomentumMoveTrigger(StrictModel):
    enabled: bool = True
    window: int = Field(12, ge=1, le=1000, description="candles")
    min_move_pct: float = Field(2.0, gt=0, le=1000, description="|close change| over the window, %")


class VReversalTrigger(StrictModel):
    enabled: bool = True
    window: int = Field(12, ge=3, le=1000, description="candles holding the swing and the recovery")
    min_swing_pct: float = Field(3.0, gt=0, le=1000, description="drop to the low (or rise to the high), %")
    min_recovery: float = Field(0.6, gt=0, le=2, description="share of the swing won back by the last close")


class TriggerScanConfig(StrictModel):
    max_candidates: int = Field(5, ge=1, le=1000, description="symbols evaluated per cycle (open positions extra)")
    min_score: float = Field(0.0, ge=0, description="a candidate needs at least this strength x confidence")
    strength_cap: float = Field(3.0, ge=1, le=100, description="strengths above this count as this")
    volume_spike: VolumeSpikeTrigger = VolumeSpikeTrigger()
    range_breakout: RangeBreakoutTrigger = RangeBreakoutTrigger()
    momentum_move: MomentumMoveTrigger = MomentumMoveTrigger()
    v_reversal: VReversalTrigger = VReversalTrigger()


DEFAULT_SCAN = TriggerScanConfig()


@dataclass(frozen=True)
class Trigger:
    kind: str  # volume_spike | range_breakout | momentum_move | v_reversal
    direction: int  # +1 up, -1 down, 0 none
    strength: float  # >= 1 when fired, <= strength_cap
    confidence: float  # 0..1
    reason: str
    metrics: Mapping[str, float] = field(default_factory=dict)

    @property
    def score(self) -> float:
        return self.strength * self.confidence


@dataclass(frozen=True)
class Candidate:
    symbol: str
    triggers: tuple[Trigger, ...]  # best first

    @property
    def best(self) -> Trigger:
        return self.triggers[0]

    @property
    def score(self) -> float:
        return self.best.score

    @property
    def reason(self) -> str:
        return "; ".join(t.reason for t in self.triggers)


@dataclass(frozen=True)
class ScanResult:
    selected: tuple[str, ...]  # what the agent evaluates this cycle: forced first, then the top candidates
    candidates: tuple[Candidate, ...]  # every symbol that triggered, best first
    forced: tuple[str, ...] = ()  # open positions: always evaluated, outside the cap
    capped: tuple[str, ...] = ()  # triggered but over max_candidates or under min_score
    skipped: Mapping[str, str] = field(default_factory=dict)  # symbol -> why it was not scanned


def _r(x: float) -> float:
    return round(float(x), 6)


def _sign(x: float) -> int:
    return 1 if x > 0 else -1 if x < 0 else 0


def bars_needed(c: Candles, cfg: TriggerScanConfig) -> int:
    """Closed candles a full scan of `c` needs (the largest enabled window plus the last candle)."""
    need = [2]
    if cfg.volume_spike.enabled or cfg.range_breakout.enabled:
        need.append(cfg.volume_spike.window + 1)
    if cfg.range_breakout.enabled:
        need.append(_range_bars(c, cfg.range_breakout) + 1)
    if cfg.momentum_move.enabled:
        need.append(cfg.momentum_move.window + 1)
    if cfg.v_reversal.enabled:
        need.append(cfg.v_reversal.window + 1)
    return max(need)


def _range_bars(c: Candles, t: RangeBreakoutTrigger) -> int:
    return max(1, int(round(t.range_hours * 3600 / c.seconds)))


def detect(c: Candles, cfg: TriggerScanConfig = DEFAULT_SCAN) -> tuple[Trigger, ...]:
    """Every trigger that fires on the last closed candle of `c`, best score first (none while warming up)."""
    if len(c) < bars_needed(c, cfg):
        return ()
    cap = cfg.strength_cap
    o, h, lo, cl, v = c.open, c.high, c.low, c.close, c.volume
    out: list[Trigger] = []

    # Volume ratio is used by two triggers; compute it once.
    vs = cfg.volume_spike
    avg_vol = float(np.mean(v[-vs.window - 1:-1]))
    vol_ratio = float(v[-1]) / avg_vol if avg_vol > 0 else float("nan")

    if vs.enabled and np.isfinite(vol_ratio) and vol_ratio >= vs.min_ratio:
        rng = float(h[-1] - lo[-1])
        body = abs(float(cl[-1] - o[-1])) / rng if rng > 0 else 0.0
        # A spike with a big body shows who won; a doji spike is interest without direction.
        conf = 0.25 + 0.75 * body
        out.append(Trigger("volume_spike", _sign(float(cl[-1] - o[-1])), min(vol_ratio / vs.min_ratio, cap), conf,
                           f"volume {vol_ratio:.1f}x its {vs.window}-candle average (>= {vs.min_ratio:g}x)",
                           {"volume_ratio": _r(vol_ratio), "body_share": _r(body)}))

    rb = cfg.range_breakout
    if rb.enabled:
        n = _range_bars(c, rb)
        hi, low = float(np.max(h[-n - 1:-1])), float(np.min(lo[-n - 1:-1]))
        last = float(cl[-1])
        up = (last / hi - 1) * 100 if hi > 0 else 0.0
        down = (1 - last / low) * 100 if low > 0 else 0.0
        excess, d = (up, 1) if up >= down else (down, -1)
        if excess >= rb.min_excess_pct:
            # A breakout on above-average volume is more likely to hold: average volume -> 0.5, double -> 1.0.
            conf = float(np.clip(vol_ratio / 2, 0.25, 1.0)) if np.isfinite(vol_ratio) else 0.25
            out.append(Trigger("range_breakout", d, min(excess / rb.min_excess_pct, cap), conf,
                               f"close {excess:.2f}% {'above' if d > 0 else 'below'} the {rb.range_hours:g}h "
                               f"{'high' if d > 0 else 'low'} {hi if d > 0 else low:.6g}",
                               {"excess_pct": _r(excess), "range_high": _r(hi), "range_low": _r(low),
                                "volume_ratio": _r(vol_ratio)}))

    mm = cfg.momentum_move
    if mm.enabled:
        seg = cl[-mm.window - 1:]
        move = (float(seg[-1]) / float(seg[0]) - 1) * 100 if seg[0] > 0 else 0.0
        if abs(move) >= mm.min_move_pct:
            path = float(np.sum(np.abs(np.diff(seg))))
            # Kaufman efficiency: a straight move is a cleaner signal than the same net move through chop.
            eff = abs(float(seg[-1] - seg[0])) / path if path > 0 else 0.0
            out.append(Trigger("momentum_move", _sign(move), min(abs(move) / mm.min_move_pct, cap), eff,
                               f"moved {move:+.2f}% over {mm.window} candles (efficiency {eff:.2f})",
                               {"move_pct": _r(move), "efficiency": _r(eff)}))

    vr = cfg.v_reversal
    if vr.enabled:
        t = _v_reversal(o, h, lo, cl, vr, cap)
        if t is not None:
            out.append(t)

    out.sort(key=lambda t: -t.score)
    return tuple(out)


def _v_reversal(o: np.ndarray, h: np.ndarray, lo: np.ndarray, cl: np.ndarray, vr: VReversalTrigger,
                cap: float) -> Trigger | None:
    w = vr.window
    start = float(cl[-w - 1])
    last = float(cl[-1])
    best: Trigger | None = None
    # V bottom: fell to a low inside the window, then won back most of the fall. Λ top is the mirror.
    for d, extreme_idx, extreme in (
        (+1, int(np.argmin(lo[-w:])), float(np.min(lo[-w:]))),
        (-1, int(np.argmax(h[-w:])), float(np.max(h[-w:]))),
    ):
        if extreme_idx == w - 1 or start <= 0:
            continue  # the extreme is the last candle: no reversal yet
        swing = (start - extreme) * d  # > 0 when price went the "wrong" way first
        if swing <= 0:
            continue
        swing_pct = swing / start * 100
        recovery = (last - extreme) * d / swing
        if swing_pct >= vr.min_swing_pct and recovery >= vr.min_recovery:
            t = Trigger("v_reversal", d, min(swing_pct / vr.min_swing_pct, cap), float(min(1.0, recovery)),
                        f"{'V bottom' if d > 0 else 'inverted-V top'}: {'fell' if d > 0 else 'rose'} {swing_pct:.2f}% "
                        f"to {extreme:.6g}, recovered {recovery:.0%} of it",
                        {"swing_pct": _r(swing_pct), "recovery": _r(recovery), "extreme": _r(extreme)})
            if best is None or t.score > best.score:
                best = t
    return best


def scan(candles: Mapping[str, Candles], config: TriggerScanConfig = DEFAULT_SCAN, *,
         always: Iterable[str] = ()) -> ScanResult:
    """Rank every symbol in `candles` by its best trigger and select at most `max_candidates` of them.

    `always` (the open positions) is evaluated every cycle regardless of triggers and outside the cap, so an
    exit is never starved by new opportunities. Ties rank by symbol name so the selection is reproducible.
    """
    forced = tuple(dict.fromkeys(s for s in always))
    found: list[Candidate] = []
    skipped: dict[str, str] = {}
    for symbol, c in candles.items():
        need = bars_needed(c, config)
        if len(c) < need:
            skipped[symbol] = f"warming up: {len(c)} of {need} candles"
            continue
        triggers = detect(c, config)
        if triggers:
            found.append(Candidate(symbol, triggers))
    found.sort(key=lambda cand: (-cand.score, cand.symbol))
    picked: list[str] = []
    capped: list[str] = []
    for cand in found:
        if cand.symbol in forced:
            continue
        if len(picked) < config.max_candidates and cand.score >= config.min_score and cand.score > 0:
            picked.append(cand.symbol)
        else:
            capped.append(cand.symbol)
    return ScanResult(forced + tuple(picked), tuple(found), forced, tuple(capped), MappingProxyType(skipped))
