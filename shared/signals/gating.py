"""Gating: which strategies may run for a symbol given its regime, volatility, drawdown and market type.

The rules are a table in configuration (GatingConfig); its defaults are the house table. Inputs are plain
values so the gate does not depend on the exact shape of MarketState.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from shared.config.strict import StrictModel
from shared.signals.strategies import REGISTRY

REGIMES = ("BULL_TREND", "BEAR_TREND", "SIDEWAYS_LOW_VOL", "SIDEWAYS_HIGH_VOL", "TRANSITION")
VOLATILITIES = ("LOW", "NORMAL", "HIGH")
MARKETS = ("spot", "futures")

DEFAULT_REGIME_TABLE: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "BULL_TREND": ("momentum", "breakout"),
    "BEAR_TREND": ("short_momentum",),
    "SIDEWAYS_LOW_VOL": ("mean_reversion", "vwap_reversion"),
    "SIDEWAYS_HIGH_VOL": ("mean_reversion", "vwap_reversion"),
    "TRANSITION": (),  # conflicting evidence: wait for the regime to confirm
})
DEFAULT_VOLATILITY_BLOCKS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "LOW": ("breakout",),  # a quiet market's "breakouts" are mostly noise
})


def _known_strategies(rows: Mapping[str, tuple[str, ...]], what: str) -> None:
    for key, names in rows.items():
        unknown = [n for n in names if n not in REGISTRY]
        if unknown:
            raise ValueError(f"{what}{'.' + key if key else ''}: unknown strategy {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(REGISTRY))}")


class GatingConfig(StrictModel):
    """Regime -> allowed strategies, volatility -> blocked strategies, strategies that need shorts, drawdown limit.

    A profile overrides rows, not the whole table: `regimes: {BULL_TREND: [momentum]}` replaces that row only;
    `volatility_blocks: {LOW: []}` lifts the LOW block.
    """


    regimes: dict[str, tuple[str, ...]] = Field(default_factory=lambda: dict(DEFAULT_REGIME_TABLE))
    volatility_blocks: dict[str, tuple[str, ...]] = Field(default_factory=lambda: dict(DEFAULT_VOLATILITY_BLOCKS))
    needs_short: tuple[str, ...] = ("short_momentum",)
    max_drawdown_pct: float = Field(10.0, gt=0, le=100, description="hard limit: at or beyond it nothing runs")

    @model_validator(mode="before")
    @classmethod
    def _merge_rows(cls, data: Any) -> Any:
        # Row-wise override keeps a profile's gating block short and the untouched rows at the house defaults.
        if isinstance(data, Mapping):
            data = dict(data)
            if isinstance(data.get("regimes"), Mapping):
                data["regimes"] = {**DEFAULT_REGIME_TABLE, **data["regimes"]}
            if isinstance(data.get("volatility_blocks"), Mapping):
                data["volatility_blocks"] = {**DEFAULT_VOLATILITY_BLOCKS, **data["volatility_blocks"]}
        return data

    @field_validator("regimes")
    @classmethod
    def _regimes(cls, v: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        bad = [k for k in v if k not in REGIMES]
        if bad:
            raise ValueError(f"unknown regime {', '.join(bad)}; allowed: {', '.join(REGIMES)}")
        _known_strategies(v, "regimes")
        return v

    @field_validator("volatility_blocks")
    @classmethod
    def _vol(cls, v: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        bad = [k for k in v if k not in VOLATILITIES]
        if bad:
            raise ValueError(f"unknown volatility level {', '.join(bad)}; allowed: {', '.join(VOLATILITIES)}")
        _known_strategies(v, "volatility_blocks")
        return v

    @field_validator("needs_short")
    @classmethod
    def _short(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        _known_strategies({"": v}, "needs_short")
        return v


DEFAULT_GATING = GatingConfig()


@dataclass(frozen=True)
class GateDecision:
    """The strategies that may run, and for each one that may not, why."""

    allowed: tuple[str, ...]
    blocked: Mapping[str, str] = field(default_factory=dict)
    regime: str = ""
    volatility: str = ""
    market: str = ""
    drawdown_pct: float = 0.0

    @property
    def reason(self) -> str:
        head = f"gate {self.regime}/{self.volatility}/{self.market}"
        ok = ", ".join(self.allowed) if self.allowed else "none (WAIT)"
        if not self.blocked:
            return f"{head}: allowed {ok}"
        why = "; ".join(f"{name}: {reason}" for name, reason in self.blocked.items())
        return f"{head}: allowed {ok}; blocked {why}"


def _plain(value: Any) -> str:
    return str(getattr(value, "value", value))  # accept str Enums from MarketState as well as strings


def gate(strategies: Iterable[str], *, regime: Any, volatility: Any, drawdown_pct: float,
         market: Literal["spot", "futures"], config: GatingConfig = DEFAULT_GATING,
         max_drawdown_pct: float | None = None) -> GateDecision:
    """Which of `strategies` (the profile's, in order) may run now.

    drawdown_pct is the account's drawdown from its peak in percent (its sign is ignored); `max_drawdown_pct`
    overrides the config's hard limit so the risk settings can stay the one source for it. Every rule that
    blocks a strategy is listed in its reason.
    """
    reg, vol, mkt = _plain(regime), _plain(volatility), _plain(market)
    if reg not in REGIMES:
        raise ValueError(f"regime {reg!r} is not valid; allowed: {', '.join(REGIMES)}")
    if vol not in VOLATILITIES:
        raise ValueError(f"volatility {vol!r} is not valid; allowed: {', '.join(VOLATILITIES)}")
    if mkt not in MARKETS:
        raise ValueError(f"market {mkt!r} is not valid; allowed: {', '.join(MARKETS)}")
    limit = config.max_drawdown_pct if max_drawdown_pct is None else max_drawdown_pct
    dd = abs(float(drawdown_pct))
    row = config.regimes.get(reg, ())
    vol_blocked = config.volatility_blocks.get(vol, ())

    allowed: list[str] = []
    blocked: dict[str, str] = {}
    for name in dict.fromkeys(strategies):  # keep order, drop repeats
        reasons: list[str] = []
        if dd >= limit:
            reasons.append(f"drawdown {dd:.2f}% >= hard limit {limit:g}%: nothing runs")
        if name not in row:
            wait = " (waits for the regime to confirm)" if reg == "TRANSITION" else ""
            reasons.append(f"not allowed in {reg}{wait}")
        if mkt == "spot" and name in config.needs_short:
            reasons.append("needs shorts; spot is long-only")
        if name in vol_blocked:
            reasons.append(f"blocked at {vol} volatility")
        if reasons:
            blocked[name] = "; ".join(reasons)
        else:
            allowed.append(name)
    return GateDecision(tuple(allowed), MappingProxyType(blocked), reg, vol, mkt, dd)
