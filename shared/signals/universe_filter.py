"""Universe filter: which symbols are tradable now, by tier and liquidity, and which cluster each belongs to.

Liquidity numbers come from the venue where it gives them (24h quote volume, spread, book depth). A number
the venue does not give is "unknown", which never fails a symbol: it is listed so the operator can see it.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

import numpy as np
from pydantic import Field, model_validator

from shared.config.errors import ConfigError
from shared.config.strict import StrictModel
from shared.market.candles import Candles

DEFAULT_CLUSTERS = ("majors", "l1", "l2", "defi", "ai", "meme", "payments", "exchange", "stocks", "other")
_DAY = 86_400


class LiquidityLimits(StrictModel):
    """Thresholds for one tier, in the quote currency (USD/USDT); a missing limit is not checked."""


    min_quote_volume_24h: float | None = Field(None, ge=0)
    max_spread_pct: float | None = Field(None, gt=0, le=100, description="(ask - bid) / mid, in %")
    min_depth_quote: float | None = Field(None, ge=0, description="book depth within depth_band_pct of mid, each side")


def _default_tiers() -> dict[int, LiquidityLimits]:
    return {
        1: LiquidityLimits(min_quote_volume_24h=50e6, max_spread_pct=0.05, min_depth_quote=500e3),
        2: LiquidityLimits(min_quote_volume_24h=10e6, max_spread_pct=0.15, min_depth_quote=100e3),
        3: LiquidityLimits(min_quote_volume_24h=2e6, max_spread_pct=0.40, min_depth_quote=20e3),
    }


class UniverseFilterConfig(StrictModel):

    trade_tiers: tuple[int, ...] = Field((1, 2, 3), description="tiers this agent may open positions in")
    tiers: dict[int, LiquidityLimits] = Field(default_factory=_default_tiers)
    depth_band_pct: float = Field(1.0, gt=0, le=50, description="how adapters measure depth: ± this % around mid")
    clusters: tuple[str, ...] = DEFAULT_CLUSTERS

    @model_validator(mode="after")
    def _tiers_known(self) -> "UniverseFilterConfig":
        missing = [t for t in self.trade_tiers if t not in self.tiers]
        if missing:
            raise ValueError(f"trade_tiers {missing} have no limits under tiers (defined: {sorted(self.tiers)})")
        return self


class TieredSymbol(Protocol):
    """What the filter needs from a universe entry (SymbolSpec once it has `tier`)."""

    tier: int
    cluster: str


@dataclass(frozen=True)
class LiquiditySnapshot:
    """What the venue told us; None = it does not say."""

    quote_volume_24h: float | None = None
    spread_pct: float | None = None
    depth_quote: float | None = None


@dataclass(frozen=True)
class Eligibility:
    symbol: str
    tier: int
    cluster: str
    eligible: bool
    reasons: tuple[str, ...] = ()  # why not eligible (empty when eligible)
    unknown: tuple[str, ...] = ()  # checks skipped because the venue does not give the number

    @property
    def reason(self) -> str:
        if self.eligible:
            return f"tier {self.tier} ok" + (f" ({', '.join(self.unknown)} unknown)" if self.unknown else "")
        return "; ".join(self.reasons)


@dataclass(frozen=True)
class UniverseView:
    eligible: tuple[str, ...]
    decisions: Mapping[str, Eligibility] = field(default_factory=dict)
    clusters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # cluster -> symbols (all, not only eligible)


def check_symbol(symbol: str, spec: TieredSymbol, liq: LiquiditySnapshot | None,
                 config: UniverseFilterConfig) -> Eligibility:
    liq = liq or LiquiditySnapshot()
    tier, cluster = int(spec.tier), spec.cluster
    if tier not in config.trade_tiers:
        why = f"tier {tier} not in trade_tiers {list(config.trade_tiers)}"
        return Eligibility(symbol, tier, cluster, False, (why,))
    limits = config.tiers[tier]
    reasons: list[str] = []
    unknown: list[str] = []
    checks = (
        ("24h quote volume", liq.quote_volume_24h, limits.min_quote_volume_24h, "min"),
        ("spread %", liq.spread_pct, limits.max_spread_pct, "max"),
        ("depth", liq.depth_quote, limits.min_depth_quote, "min"),
    )
    for label, value, limit, kind in checks:
        if limit is None:
            continue
        if value is None or not np.isfinite(value):
            unknown.append(label)
        elif kind == "min" and value < limit:
            reasons.append(f"{label} {value:,.6g} < tier {tier} minimum {limit:,.6g}")
        elif kind == "max" and value > limit:
            reasons.append(f"{label} {value:.4g} > tier {tier} maximum {limit:.4g}")
    return Eligibility(symbol, tier, cluster, not reasons, tuple(reasons), tuple(unknown))


def filter_universe(symbols: Mapping[str, TieredSymbol], liquidity: Mapping[str, LiquiditySnapshot],
                    config: UniverseFilterConfig) -> UniverseView:
    """Eligibility of every symbol (in universe order) and the cluster map for exposure limits."""
    decisions = {s: check_symbol(s, spec, liquidity.get(s), config) for s, spec in symbols.items()}
    return UniverseView(tuple(s for s, e in decisions.items() if e.eligible), MappingProxyType(decisions),
                        MappingProxyType(cluster_map(symbols)))


def cluster_map(symbols: Mapping[str, TieredSymbol]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for s, spec in symbols.items():
        out.setdefault(spec.cluster, []).append(s)
    return {k: tuple(v) for k, v in out.items()}


def validate_universe(symbols: Mapping[str, TieredSymbol], config: UniverseFilterConfig,
                      setting: str = "universe") -> None:
    """At start: every symbol's cluster is a known one and its tier has limits. Raises ConfigError."""
    for s, spec in symbols.items():
        if spec.cluster not in config.clusters:
            raise ConfigError(f"{setting}.symbols.{s}.cluster", spec.cluster, "one of " + ", ".join(config.clusters))
        if int(spec.tier) not in config.tiers:
            raise ConfigError(f"{setting}.symbols.{s}.tier", spec.tier,
                              "a tier defined under filter.tiers: " + ", ".join(map(str, sorted(config.tiers))))


def quote_volume_24h(candles: Candles, now_epoch: float | None = None) -> float | None:
    """Sum of close x volume over the closed candles of the last 24h, for venues (and sim) that do not report it.

    None when the candles do not cover 24h yet: a partial day would understate volume and fail a good symbol.
    """
    n = len(candles) if now_epoch is None else candles.closed_count(now_epoch)
    if n == 0:
        return None
    end = int(candles.open_time[n - 1]) + candles.seconds
    if int(candles.open_time[0]) > end - _DAY:
        return None
    first = int(np.searchsorted(candles.open_time[:n], end - _DAY, side="left"))
    return float(np.dot(candles.close[first:n], candles.volume[first:n]))
