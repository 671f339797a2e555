"""Position size for one entry: per-trade maximum x conviction, volatility-adjusted, Kelly- and balance-capped,
scaled by the risk bucket, rounded down to the venue's lot step; every intermediate number is returned.

    allocation max   A = equity * max_position_pct / 100            (notional on spot, margin on futures)
    max notional     M = A * leverage                                (leverage = 1 on spot)
    conviction f     f = floor + (ceiling - floor) * clamp(conviction, 0, 10) / 10     (0 -> 20 %, 5 -> 60 %, 10 -> 100 %)
    conviction size  C = M * f
    vol-adjusted     V = equity * risk_per_trade_pct / 100 / (stop distance % / 100)   (loss at the stop = risk budget)
    Kelly cap        K = equity * kelly allocation % / 100 * leverage                  (only with >= min_trades trades)
    balance cap      B = free * (1 - free_headroom_pct / 100) * leverage                (when the free balance is known)
    target           T = min(C, V, K, B) * bucket fraction
    qty              = round_step(T / round_tick(price), lot_step); skipped if qty * price < min_notional
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from shared.execution.accounting import round_step, round_tick
from shared.execution.models import MarketInfo
from shared.risk.config import RiskBucket, SizingConfig
from shared.risk.kelly import KellyEstimate


def conviction_fraction(conviction: float, cfg: SizingConfig) -> float:
    """Linear map of conviction 0..10 (clamped) to floor..ceiling of the per-trade maximum."""
    c = min(max(conviction, 0.0), 10.0)
    return cfg.conviction_floor + (cfg.conviction_ceiling - cfg.conviction_floor) * c / 10.0


@dataclass(frozen=True)
class SizeResult:
    ok: bool
    qty: float
    price: float  # reference price rounded to the tick
    notional: float  # qty * price
    allocation: float  # notional / leverage: margin on futures, cash on spot
    leverage: int
    equity: float
    max_position_pct: float
    max_allocation: float  # A
    max_notional: float  # M
    conviction: float
    conviction_fraction: float  # f
    conviction_notional: float  # C
    stop_distance_pct: float
    risk_budget: float  # equity * risk_per_trade_pct / 100
    vol_notional: float  # V
    kelly_applied: bool
    kelly_allocation_pct: float | None
    kelly_notional: float | None  # K
    free_notional: float | None  # B
    bucket: RiskBucket
    bucket_fraction: float
    downgraded: bool
    binding: str  # which cap set the size: conviction, volatility, kelly or free_balance
    target_notional: float  # T, before lot rounding
    risk_at_stop: float  # notional * stop distance
    reasons: tuple[str, ...] = ()
    skipped_reason: str = ""
    kelly: KellyEstimate | None = field(default=None, repr=False)

    @property
    def summary(self) -> str:
        if not self.ok:
            return f"skipped: {self.skipped_reason}"
        lev = f" at {self.leverage}x" if self.leverage > 1 else ""
        return (f"qty {self.qty:.8g} = {self.notional:.2f} notional{lev} ({self.binding}-bound, bucket "
                f"{self.bucket.value}, risk at stop {self.risk_at_stop:.2f})")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["bucket"] = self.bucket.value
        d["reasons"] = list(self.reasons)
        d.pop("kelly", None)
        return d


def size_position(*, equity: float, price: float, conviction: float, market: MarketInfo, max_position_pct: float,
                  leverage: int, stop_distance_pct: float, kelly: KellyEstimate, bucket: RiskBucket,
                  bucket_reason: str, cfg: SizingConfig, free: float | None = None,
                  downgraded: bool = False) -> SizeResult:
    """The size of one entry and how it was reached (see the module docstring for the formula)."""
    lev = max(1, int(leverage))
    a_max = equity * max_position_pct / 100
    m_max = a_max * lev
    f = conviction_fraction(conviction, cfg)
    c_size = m_max * f
    budget = equity * cfg.risk_per_trade_pct / 100
    v_size = budget / (stop_distance_pct / 100) if stop_distance_pct > 0 else float("inf")
    caps: dict[str, float] = {"conviction": c_size, "volatility": v_size}
    reasons = [f"per-trade max {max_position_pct:g}% of equity {equity:.2f} = {a_max:.2f}"
               + (f" margin x {lev} = {m_max:.2f} notional" if lev > 1 else ""),
               f"conviction {conviction:g}/10 -> {f:.0%} of max = {c_size:.2f}",
               f"risk {cfg.risk_per_trade_pct:g}% = {budget:.2f} / stop {stop_distance_pct:.3f}% -> {v_size:.2f}"]
    k_size = None
    if kelly.applies and kelly.allocation_pct is not None:
        k_size = equity * kelly.allocation_pct / 100 * lev
        caps["kelly"] = k_size
        reasons.append(kelly.reason + f" -> cap {k_size:.2f} notional")
    else:
        reasons.append(kelly.reason)
    b_size = None
    if free is not None:
        b_size = max(0.0, free) * (1 - cfg.free_headroom_pct / 100) * lev
        caps["free_balance"] = b_size
    binding = min(caps, key=lambda k: caps[k])
    frac = cfg.buckets.fraction(bucket)
    target = caps[binding] * frac
    reasons.append(f"{bucket_reason} (x{frac:g}); {binding}-bound -> target {target:.2f}")
    px = round_tick(price, market.tick_size)
    qty = round_step(target / px, market.lot_step) if px > 0 else 0.0
    notional = qty * px
    skipped = ""
    if qty <= 0:
        skipped = f"size {target:.2f} is below one lot ({market.lot_step:g} x {px:.8g})"
    elif notional < market.min_notional:
        skipped = f"size {notional:.2f} is below the venue minimum notional {market.min_notional:g}"
    if skipped:
        reasons.append("skipped: " + skipped)
        qty, notional = 0.0, 0.0
    return SizeResult(
        ok=not skipped, qty=qty, price=px, notional=notional, allocation=notional / lev, leverage=lev, equity=equity,
        max_position_pct=max_position_pct, max_allocation=a_max, max_notional=m_max, conviction=conviction,
        conviction_fraction=f, conviction_notional=c_size, stop_distance_pct=stop_distance_pct, risk_budget=budget,
        vol_notional=v_size, kelly_applied=k_size is not None, kelly_allocation_pct=kelly.allocation_pct,
        kelly_notional=k_size, free_notional=b_size, bucket=bucket, bucket_fraction=frac, downgraded=downgraded,
        binding=binding, target_notional=target, risk_at_stop=notional * stop_distance_pct / 100,
        reasons=tuple(reasons), skipped_reason=skipped, kelly=kelly)
