"""Settings read from TB_* environment variables and the project's .env, validated once at start."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.config.errors import ConfigError, setting_error

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LIVE_CONFIRMATION = "yes-real-money"
Mode = Literal["sim", "paper", "testnet", "live"]
MODES_AVAILABLE = ("sim",)


class Settings(BaseSettings):
    """Every TB_* setting; `.env.example` documents each one."""

    model_config = SettingsConfigDict(env_prefix="TB_", env_file=None, extra="ignore", validate_default=True,
                                      env_file_encoding="utf-8")

    mode: Mode = "sim"
    live_confirm: str = ""
    root: Path = PROJECT_ROOT
    db_path: Path = Path("enhanced_trading.db")
    data_dir: Path = Path("data")
    run_dir: Path = Path("run")
    log_dir: Path = Path("logs")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    hybrid_profile: str = "momentum_standard"
    futures_profile: str = "momentum_aggressive"

    sim_speed: float = Field(6.0, gt=0, le=10_000)
    sim_start: datetime = datetime(2025, 3, 1, tzinfo=timezone.utc)
    sim_starting_balance: float = Field(10_000.0, gt=0)
    sim_slippage_bps: float = Field(2.0, ge=0, le=500)
    cycle_seconds: float = Field(1.0, gt=0, le=3600)
    candle_lookback: int = Field(300, ge=50, le=5000)
    reconcile_every_cycles: int = Field(30, ge=0, le=100_000)

    max_leverage: int = Field(5, ge=1, le=125)
    min_signal_quality: float = Field(5.0, ge=0, le=10)
    min_conviction_score: float = Field(5.0, ge=0, le=10)

    # sentiment (docs/signals.md#sentiment)
    sentiment_scorer: Literal["auto", "lexicon", "finbert"] = "auto"
    sentiment_model: str = ""
    sentiment_half_life_hours: float = Field(6.0, gt=0, le=720)
    sentiment_max_age_hours: float = Field(48.0, gt=0, le=8760)
    sentiment_momentum_lookback: int = Field(12, ge=2, le=1000)
    sentiment_divergence_threshold: float = Field(0.4, gt=0, le=2)

    # risk: defaults and allowed ranges live once, in shared.risk.config.RiskConfig (docs/risk.md); unset -> its default
    risk_per_trade_pct: float | None = None
    kelly_min_trades: int | None = None
    kelly_fraction: float | None = None
    kelly_cap_pct: float | None = None
    max_fleet_positions: int | None = None
    max_cluster_exposure_pct: float | None = None
    max_trades_per_day: int | None = None
    max_trades_per_hour: int | None = None
    daily_loss_limit_pct: float | None = None
    max_drawdown_pct: float | None = None
    fleet_daily_loss_limit_pct: float | None = None
    fleet_max_drawdown_pct: float | None = None
    loss_streak: int | None = None
    loss_cooldown_minutes: float | None = None
    max_var_pct: float | None = None
    var_confidence: float | None = None
    max_correlation: float | None = None
    on_daily_loss: Literal["REDUCING", "HALTED"] | None = None
    on_max_drawdown: Literal["REDUCING", "HALTED"] | None = None
    reducing_flatten: bool | None = None
    halted_flatten: bool | None = None
    min_liq_distance_atr: float | None = None
    funding_rate_limit_pct: float | None = None
    kill_switch_path: Path = Path("run/KILL_SWITCH")

    @field_validator("sim_start")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return v.replace(tzinfo=timezone.utc) if v.tzinfo is None else v.astimezone(timezone.utc)

    @model_validator(mode="after")
    def _resolve_paths(self) -> "Settings":
        for name in ("db_path", "data_dir", "run_dir", "log_dir", "kill_switch_path"):
            p = getattr(self, name)
            if not p.is_absolute():
                object.__setattr__(self, name, self.root / p)
        return self

    @property
    def sim_clock_rate(self) -> float:
        """Sim seconds per wall second: TB_SIM_SPEED five-minute candles each second."""
        return self.sim_speed * 300.0


_ALLOWED_HINTS = {
    "mode": "one of sim, paper, testnet, live",
    "log_level": "one of DEBUG, INFO, WARNING, ERROR",
    "sim_speed": "a number > 0 and <= 10000 (5-minute candles per second)",
    "sim_start": "an ISO-8601 date or time, e.g. 2025-03-01T00:00:00Z",
    "sim_starting_balance": "a number > 0",
    "sim_slippage_bps": "a number from 0 to 500",
    "cycle_seconds": "a number > 0 and <= 3600",
    "candle_lookback": "a whole number from 50 to 5000",
    "reconcile_every_cycles": "a whole number from 0 (only at start) to 100000",
    "max_leverage": "a whole number from 1 to 125",
    "min_signal_quality": "a number from 0 to 10",
    "min_conviction_score": "a number from 0 to 10",
    "sentiment_scorer": "one of auto, lexicon, finbert",
    "on_daily_loss": "REDUCING or HALTED",
    "on_max_drawdown": "REDUCING or HALTED",
    "reducing_flatten": "true or false",
    "halted_flatten": "true or false",
}


# Setting names that carry secrets: their values never reach a log line, an error message or an alert.
SECRET_WORDS = ("KEY", "SECRET", "TOKEN", "PASSWORD", "WEBHOOK")

# Read by start_trading_system.sh, not by Python; allowed in the environment and .env.
SHELL_ONLY_SETTINGS = {"TB_VENV_DIR", "TB_PYTHON"}


# Processes with settings of their own (notifier, watchdog) declare them in these models; their names are
# known settings too, validated by those processes (and by `start_trading_system.sh check`).
EXTENSION_SETTINGS = ("shared.notify.config:NotifySettings", "shared.health.config:HealthSettings")


def known_setting_names() -> set[str]:
    import importlib

    names = {f"TB_{name.upper()}" for name in Settings.model_fields} | SHELL_ONLY_SETTINGS
    for ref in EXTENSION_SETTINGS:
        module, _, cls = ref.partition(":")
        try:
            model = getattr(importlib.import_module(module), cls)
        except (ImportError, AttributeError):
            continue  # that process is not part of this install
        names |= {f"TB_{name.upper()}" for name in model.model_fields}
    return names


def load_settings(root: Path | None = None) -> Settings:
    """Settings from the process environment over `<root>/.env`; raise ConfigError on a bad value.

    The process environment wins over .env, so `TB_MODE=foo ./start_trading_system.sh` is honoured.
    An unknown TB_* name is an error too: a typo such as TB_MOED must not be silently ignored.
    """
    import os

    from dotenv import dotenv_values

    root = Path(os.environ.get("TB_ROOT", root or PROJECT_ROOT))
    env_file = root / ".env"
    known = known_setting_names()
    file_values = dotenv_values(env_file) if env_file.exists() else {}
    for key in sorted(set(file_values) | set(os.environ)):
        if key.startswith("TB_") and key not in known:
            # the value is not echoed: a mistyped token name must not print the token
            raise ConfigError(key, "(hidden)", "a setting listed in .env.example (unknown name; a typo?)")
    try:
        settings = Settings(_env_file=env_file if env_file.exists() else None, root=root)
    except ValidationError as exc:
        raise setting_error(exc, _ALLOWED_HINTS) from None
    check_mode(settings)
    return settings


def check_mode(settings: Settings) -> None:
    """Refuse live without explicit confirmation, and say honestly which modes exist yet."""
    if settings.mode == "live" and settings.live_confirm != LIVE_CONFIRMATION:
        raise ConfigError("TB_LIVE_CONFIRM", settings.live_confirm,
                          f"'{LIVE_CONFIRMATION}' to trade real money in TB_MODE=live")
    if settings.mode not in MODES_AVAILABLE:
        raise ConfigError("TB_MODE", settings.mode, f"{', '.join(MODES_AVAILABLE)} (other modes are not built yet)")
