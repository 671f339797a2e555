"""Named parameter sets from config/profiles.yaml, validated into typed objects."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.config.errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SignalParams(_Strict):
    """Placeholder EMA-cross signal (replaced by shared.signals strategies)."""

    ema_fast: int = Field(9, ge=2, le=500)
    ema_slow: int = Field(21, ge=3, le=1000)
    rsi_period: int = Field(14, ge=2, le=200)
    rsi_overbought: float = Field(70, gt=50, le=100)
    rsi_oversold: float = Field(30, ge=0, lt=50)


class RiskParams(_Strict):
    max_position_pct: float = Field(10.0, gt=0, le=100, description="per-trade maximum, % of equity (margin for futures)")
    max_open_positions: int = Field(3, ge=1, le=100)
    stop_loss_pct: float = Field(2.0, gt=0, le=50)
    take_profit_pct: float = Field(4.0, gt=0, le=500)


class Profile(_Strict):
    name: str
    description: str = ""
    leverage: int = Field(1, ge=1, le=125)
    signal: SignalParams = SignalParams()
    risk: RiskParams = RiskParams()


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
    return profiles


def select_profile(profiles: dict[str, Profile], setting: str, name: str) -> Profile:
    if name not in profiles:
        raise ConfigError(setting, name, "one of " + ", ".join(sorted(profiles)))
    return profiles[name]
