"""The universe: which symbols an agent trades, their tiers and clusters, its liquidity filter and trigger scan,
its confirmation timeframes, and (for sim mode) each symbol's bundled data files. Validated at start."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, field_validator

from shared.config.errors import ConfigError
from shared.config.strict import StrictModel
from shared.market.timeframes import timeframe_seconds
from shared.signals.triggers import TriggerScanConfig
from shared.signals.universe_filter import UniverseFilterConfig, validate_universe


class SymbolSpec(StrictModel):
    data: str
    funding: str | None = None
    cluster: str = "other"
    tier: int = Field(3, ge=1, le=10, description="liquidity tier (filter.tiers); unlabelled symbols are the lowest")


class AgentUniverse(StrictModel):
    market: Literal["spot", "futures"]
    timeframe: str
    # Confirmation timeframes read besides the base one; None = the profile's signals.higher_timeframes.
    # They belong to the agent (its base timeframe), not to the profile, which either agent may use.
    higher_timeframes: tuple[str, ...] | None = None
    filter: UniverseFilterConfig = UniverseFilterConfig()
    scan: TriggerScanConfig = TriggerScanConfig()
    symbols: dict[str, SymbolSpec]

    @field_validator("higher_timeframes")
    @classmethod
    def _tfs(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if v is not None:
            for tf in v:
                timeframe_seconds(tf)
        return v

    def model_post_init(self, _: object) -> None:
        try:
            base = timeframe_seconds(self.timeframe)
        except ValueError as exc:
            raise ConfigError("universe.timeframe", self.timeframe, str(exc).split("allowed: ")[-1]) from None
        for tf in self.higher_timeframes or ():
            s = timeframe_seconds(tf)
            if s <= base or s % base:
                raise ConfigError("universe.higher_timeframes", tf,
                                  f"a timeframe above {self.timeframe} and a whole multiple of it")


def load_universe(path: Path, agent: str) -> AgentUniverse:
    raw = yaml.safe_load(path.read_text()) or {}
    if agent not in raw:
        raise ConfigError(f"universe.yaml:{agent}", None, f"a section named {agent}")
    try:
        universe = AgentUniverse(**raw[agent])
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(f"universe.{agent}." + ".".join(map(str, err["loc"])), err.get("input"), err["msg"]) from None
    except ConfigError as err:  # raised by model_post_init without the agent's name
        raise ConfigError(err.setting.replace("universe.", f"universe.{agent}.", 1), err.value, err.allowed) from None
    # every cluster known, every tier with limits
    validate_universe(universe.symbols, universe.filter, setting=f"universe.{agent}")
    return universe
