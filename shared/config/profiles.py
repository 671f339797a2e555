"""Named parameter sets from config/profiles.yaml, validated into typed objects."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from shared.config.errors import ConfigError
from shared.config.strict import StrictModel
from shared.signals.aggregation import AggregationConfig
from shared.signals.config import SignalsConfig
from shared.signals.gating import GatingConfig
from shared.signals.strategies import build_strategies

# A profile that names no strategies runs the house set with default params (config/profiles.yaml names them).
DEFAULT_STRATEGIES: tuple[str, ...] = ("momentum", "breakout", "mean_reversion", "vwap_reversion", "short_momentum")


class RiskParams(StrictModel):
    max_position_pct: float = Field(10.0, gt=0, le=100, description="per-trade maximum, % of equity (margin for futures)")
    max_open_positions: int = Field(3, ge=1, le=100)
    stop_loss_pct: float = Field(2.0, gt=0, le=50)
    take_profit_pct: float = Field(4.0, gt=0, le=500)


class TakeProfitTier(StrictModel):
    at_pct: float = Field(gt=0, le=500, description="gain from entry, %")
    fraction: float = Field(gt=0, le=1, description="share of the largest size held that this tier closes")


class ExitParams(StrictModel):
    """Exit rules (docs/risk.md, "Exits"); the stop-loss distance is risk.stop_loss_pct. Times in market minutes."""

    take_profit: tuple[TakeProfitTier, ...] | None = Field(
        None, description="tiers ascending by at_pct; None: one tier at risk.take_profit_pct closing everything")
    trailing_stop_pct: float | None = Field(None, gt=0, le=50, description="trail distance from the best price, %")
    trailing_activation_pct: float = Field(0.0, ge=0, le=500, description="gain the best price needs first, %")
    time_exit_minutes: float | None = Field(None, gt=0, le=525_600, description="exit when not in profit after this")
    exit_on_opposite_signal: bool = True
    cooldown_minutes: float = Field(60.0, ge=0, le=10_080, description="no re-entry in a symbol this long after a close")

    @model_validator(mode="after")
    def _tiers(self) -> "ExitParams":
        tiers = self.take_profit or ()
        if any(b.at_pct <= a.at_pct for a, b in zip(tiers, tiers[1:])):
            raise ValueError("take_profit tiers must be in ascending at_pct order")
        if sum(t.fraction for t in tiers) > 1 + 1e-9:
            raise ValueError("take_profit fractions must add up to at most 1")
        return self


class ExecutionParams(StrictModel):
    """How entries are placed: market orders (default) or resting limit orders that may fill partially."""

    entry_order: Literal["market", "limit"] = "market"
    limit_offset_bps: float = Field(0.0, ge=0, le=500, description="buy limit this far below the close (sell above)")
    entry_timeout_minutes: float = Field(60.0, gt=0, le=10_080, description="cancel what is left of a limit entry")


class Profile(StrictModel):
    name: str
    description: str = ""
    leverage: int = Field(1, ge=1, le=125)
    risk: RiskParams = RiskParams()
    # signal intelligence (docs/signals.md): indicators/regime/scores, strategy plugins by name, gate, aggregation
    signals: SignalsConfig = SignalsConfig()
    strategies: dict[str, dict[str, Any]] = Field(default_factory=lambda: {n: {} for n in DEFAULT_STRATEGIES},
                                                  description="strategy name -> params ({} = defaults), or a list of names")
    gating: GatingConfig = GatingConfig()
    aggregation: AggregationConfig = AggregationConfig()
    # exits and order placement (docs/risk.md): take-profit tiers, trailing stop, time exit, cooldown; entry order type
    exits: ExitParams = ExitParams()
    execution: ExecutionParams = ExecutionParams()

    @field_validator("strategies", mode="before")
    @classmethod
    def _strategy_list(cls, v: Any) -> Any:
        # `strategies: [momentum, breakout]` is short for every one with its defaults
        if isinstance(v, (list, tuple)):
            return {str(n): {} for n in v}
        if isinstance(v, dict):
            return {k: ({} if p is None else p) for k, p in v.items()}
        return v


def load_profiles(path: Path) -> dict[str, Profile]:
    """Every profile in the registry; a malformed entry is a ConfigError naming it."""
    try:
        raw: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError("config/profiles.yaml", str(path), f"a readable YAML file ({exc.__class__.__name__})") from None
    profiles: dict[str, Profile] = {}
    for name, body in (raw.get("profiles") or {}).items():
        try:
            profiles[name] = Profile(name=name, **(body or {}))
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(x) for x in err["loc"])
            raise ConfigError(f"profiles.{name}.{loc}", err.get("input"), err["msg"]) from None
        # strategies are plugins named in YAML: an unknown name or a bad param stops the start (exit 2)
        build_strategies(profiles[name].strategies, setting=f"profiles.{name}.strategies")
    return profiles


def select_profile(profiles: dict[str, Profile], setting: str, name: str) -> Profile:
    if name not in profiles:
        raise ConfigError(setting, name, "one of " + ", ".join(sorted(profiles)))
    return profiles[name]
