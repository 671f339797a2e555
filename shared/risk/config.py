"""Every risk setting as a frozen, validated pydantic model with safe defaults (docs/risk.md explains each)."""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from shared.config.strict import StrictModel


class RiskBucket(str, Enum):
    LOW = "LOW"
    NORMAL = "NORMAL"
    HIGH = "HIGH"


class BucketConfig(StrictModel):
    """Size multipliers (fractions of the conviction-scaled size). LOW is what a risk downgrade falls to."""

    low: float = Field(0.25, gt=0, le=1)
    normal: float = Field(1.0, gt=0, le=1)
    high: float = Field(1.0, gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> "BucketConfig":
        if not self.low <= self.normal <= self.high:
            raise ValueError(f"buckets must satisfy low <= normal <= high (got {self.low}, {self.normal}, {self.high})")
        return self

    def fraction(self, bucket: RiskBucket) -> float:
        return {RiskBucket.LOW: self.low, RiskBucket.NORMAL: self.normal, RiskBucket.HIGH: self.high}[bucket]


class SizingConfig(StrictModel):
    conviction_floor: float = Field(0.2, gt=0, le=1, description="share of the per-trade max at conviction 0")
    conviction_ceiling: float = Field(1.0, gt=0, le=1, description="share of the per-trade max at conviction 10")
    risk_per_trade_pct: float = Field(1.0, gt=0, le=10, description="equity lost if the protective stop is hit, %")
    free_headroom_pct: float = Field(2.0, ge=0, lt=100, description="free balance kept back for fees and slippage, %")
    buckets: BucketConfig = BucketConfig()

    @model_validator(mode="after")
    def _ordered(self) -> "SizingConfig":
        if self.conviction_floor > self.conviction_ceiling:
            raise ValueError("conviction_floor must not exceed conviction_ceiling")
        return self


class KellyConfig(StrictModel):
    min_trades: int = Field(20, ge=1, le=10_000, description="closed trades needed before Kelly applies")
    lookback_trades: int = Field(100, ge=1, le=10_000, description="most recent closed trades used")
    fraction: float = Field(0.25, gt=0, le=1, description="fractional Kelly multiplier (0.25 = quarter Kelly)")
    cap_pct: float = Field(20.0, gt=0, le=100, description="Kelly allocation never above this % of equity")
    floor_pct: float = Field(1.0, ge=0, le=100, description="Kelly allocation never below this % of equity")

    @model_validator(mode="after")
    def _ordered(self) -> "KellyConfig":
        if self.floor_pct > self.cap_pct:
            raise ValueError("kelly floor_pct must not exceed cap_pct")
        if self.lookback_trades < self.min_trades:
            raise ValueError("kelly lookback_trades must be >= min_trades")
        return self


class LimitsConfig(StrictModel):
    max_fleet_positions: int = Field(6, ge=1, le=200)
    max_cluster_exposure_pct: float = Field(50.0, gt=0, le=1000, description="gross notional per cluster, % of fleet equity")
    max_trades_per_day: int = Field(8, ge=1, le=1000)
    max_trades_per_hour: int = Field(3, ge=1, le=1000)
    daily_loss_limit_pct: float = Field(3.0, gt=0, le=100)
    max_drawdown_pct: float = Field(10.0, gt=0, le=100)
    fleet_daily_loss_limit_pct: float = Field(3.0, gt=0, le=100)
    fleet_max_drawdown_pct: float = Field(10.0, gt=0, le=100)
    loss_streak: int = Field(3, ge=1, le=100, description="consecutive losses that start a cooldown")
    loss_cooldown_minutes: float = Field(60.0, ge=0, le=10_080)
    downgrade_within_pct: float = Field(1.0, ge=0, le=100, description="drawdown this close to its limit -> LOW bucket")
    danger_states: tuple[str, ...] = ("DANGER",)


class PortfolioRiskConfig(StrictModel):
    """Fleet VaR and correlation across both agents' positions."""

    var_confidence: float = Field(0.95, gt=0.5, lt=1)
    max_var_pct: float = Field(5.0, gt=0, le=100, description="VaR limit, % of fleet equity")
    var_method: Literal["historical", "parametric", "max"] = "historical"
    horizon_periods: int = Field(24, ge=1, le=10_000, description="return periods in the VaR horizon (sqrt scaling)")
    min_observations: int = Field(30, ge=2, le=100_000)
    max_correlation: float = Field(0.85, gt=-1, le=1)
    on_missing_returns: Literal["reject", "allow"] = "reject"


class StateConfig(StrictModel):
    """ACTIVE / REDUCING / HALTED: what each breach moves to and what each state does."""

    on_daily_loss: Literal["REDUCING", "HALTED"] = "REDUCING"
    on_max_drawdown: Literal["REDUCING", "HALTED"] = "HALTED"
    reducing_flatten: bool = False
    halted_flatten: bool = True
    auto_resume_next_day: bool = True
    kill_switch_path: Path = Path("run/KILL_SWITCH")


class FuturesConfig(StrictModel):
    max_leverage: int = Field(5, ge=1, le=125)
    margin_mode: Literal["isolated"] = "isolated"
    min_liq_distance_atr: float = Field(3.0, ge=0, le=100, description="K: liquidation at least K x ATR from entry")
    funding_rate_limit_pct: float = Field(0.05, ge=0, le=10, description="per funding interval, %")
    stop_method: Literal["pct", "atr", "tighter"] = "pct"
    stop_atr_multiple: float = Field(2.0, gt=0, le=100)
    stop_liq_buffer: float = Field(0.2, gt=0, lt=1, description="a stop past liquidation moves this share of the "
                                                                "entry-liquidation distance inside it")


class RiskConfig(StrictModel):
    sizing: SizingConfig = SizingConfig()
    kelly: KellyConfig = KellyConfig()
    limits: LimitsConfig = LimitsConfig()
    portfolio: PortfolioRiskConfig = PortfolioRiskConfig()
    state: StateConfig = StateConfig()
    futures: FuturesConfig = FuturesConfig()

    def kill_switch_file(self, root: Path) -> Path:
        """The kill switch path, resolved against the project root when relative."""
        p = self.state.kill_switch_path
        return p if p.is_absolute() else root / p


# Operator settings in .env (TB_* name -> (section, field)). Everything else keeps its default here.
ENV_SETTINGS: dict[str, tuple[str, str]] = {
    "TB_RISK_PER_TRADE_PCT": ("sizing", "risk_per_trade_pct"),
    "TB_KELLY_MIN_TRADES": ("kelly", "min_trades"),
    "TB_KELLY_FRACTION": ("kelly", "fraction"),
    "TB_KELLY_CAP_PCT": ("kelly", "cap_pct"),
    "TB_MAX_FLEET_POSITIONS": ("limits", "max_fleet_positions"),
    "TB_MAX_CLUSTER_EXPOSURE_PCT": ("limits", "max_cluster_exposure_pct"),
    "TB_MAX_TRADES_PER_DAY": ("limits", "max_trades_per_day"),
    "TB_MAX_TRADES_PER_HOUR": ("limits", "max_trades_per_hour"),
    "TB_DAILY_LOSS_LIMIT_PCT": ("limits", "daily_loss_limit_pct"),
    "TB_MAX_DRAWDOWN_PCT": ("limits", "max_drawdown_pct"),
    "TB_FLEET_DAILY_LOSS_LIMIT_PCT": ("limits", "fleet_daily_loss_limit_pct"),
    "TB_FLEET_MAX_DRAWDOWN_PCT": ("limits", "fleet_max_drawdown_pct"),
    "TB_LOSS_STREAK": ("limits", "loss_streak"),
    "TB_LOSS_COOLDOWN_MINUTES": ("limits", "loss_cooldown_minutes"),
    "TB_MAX_VAR_PCT": ("portfolio", "max_var_pct"),
    "TB_VAR_CONFIDENCE": ("portfolio", "var_confidence"),
    "TB_MAX_CORRELATION": ("portfolio", "max_correlation"),
    "TB_ON_DAILY_LOSS": ("state", "on_daily_loss"),
    "TB_ON_MAX_DRAWDOWN": ("state", "on_max_drawdown"),
    "TB_REDUCING_FLATTEN": ("state", "reducing_flatten"),
    "TB_HALTED_FLATTEN": ("state", "halted_flatten"),
    "TB_KILL_SWITCH_PATH": ("state", "kill_switch_path"),
    "TB_MAX_LEVERAGE": ("futures", "max_leverage"),
    "TB_MIN_LIQ_DISTANCE_ATR": ("futures", "min_liq_distance_atr"),
    "TB_FUNDING_RATE_LIMIT_PCT": ("futures", "funding_rate_limit_pct"),
}


def risk_config_or_config_error(settings: Any) -> RiskConfig:
    """risk_config_from_settings, with a bad value reported as the TB_* setting that carries it."""
    from pydantic import ValidationError

    from shared.config.errors import ConfigError

    try:
        return risk_config_from_settings(settings)
    except ValidationError as exc:
        err = exc.errors()[0]
        section, name = (str(x) for x in err["loc"][:2])
        env = next((e for e, where in ENV_SETTINGS.items() if where == (section, name)), f"risk.{section}.{name}")
        raise ConfigError(env, err.get("input"), err["msg"].lower()) from None


def risk_config_from_settings(settings: Any, base: RiskConfig | None = None) -> RiskConfig:
    """A RiskConfig from a Settings-like object: each TB_* name in ENV_SETTINGS is read as the attribute
    `name[3:].lower()` (TB_MAX_TRADES_PER_DAY -> settings.max_trades_per_day); missing or None keeps the default.
    Raises pydantic.ValidationError on a bad value."""
    data: dict[str, dict[str, Any]] = (base or RiskConfig()).model_dump()
    for env, (section, name) in ENV_SETTINGS.items():
        value = getattr(settings, env[3:].lower(), None)
        if value is not None:
            data[section][name] = value
    return RiskConfig.model_validate(data)
