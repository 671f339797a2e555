"""The universe: which symbols an agent trades, their clusters, and their bundled data files."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from shared.config.errors import ConfigError
from shared.market.timeframes import timeframe_seconds


class SymbolSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    data: str
    funding: str | None = None
    cluster: str = "other"


class AgentUniverse(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    market: Literal["spot", "futures"]
    timeframe: str
    symbols: dict[str, SymbolSpec]

    def model_post_init(self, _: object) -> None:
        try:
            timeframe_seconds(self.timeframe)
        except ValueError as exc:
            raise ConfigError("universe.timeframe", self.timeframe, str(exc).split("allowed: ")[-1]) from None


def load_universe(path: Path, agent: str) -> AgentUniverse:
    raw = yaml.safe_load(path.read_text()) or {}
    if agent not in raw:
        raise ConfigError(f"universe.yaml:{agent}", None, f"a section named {agent}")
    try:
        return AgentUniverse(**raw[agent])
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(f"universe.{agent}." + ".".join(map(str, err["loc"])), err.get("input"), err["msg"]) from None
