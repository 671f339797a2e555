"""Watchdog thresholds (TB_WATCHDOG_*), parsed once, and the per-agent limits derived from them and the cycle interval.

Every setting has a default that works, so nothing needs to be set. Until the names are listed in
shared/config/settings.py, load_settings() rejects them in .env or the environment; the CLI flags of
`python -m shared.health watchdog` set the same values meanwhile.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.config.errors import ConfigError, setting_error
from shared.market.timeframes import timeframe_seconds

AGENTS: tuple[str, ...] = ("hybrid", "futures")
HELPERS: tuple[str, ...] = ("watchdog", "notifier", "alerts")  # the fleet's own supervisord programs
MIN_STALE_S = 10.0
STALE_CYCLES = 10.0

_HINTS = {
    "watchdog_interval_s": "seconds between checks, > 0 and <= 300",
    "watchdog_stale_s": "seconds without a successful cycle before an agent counts as hung (0 = max(10, 10 x TB_CYCLE_SECONDS))",
    "watchdog_startup_grace_s": "seconds a fresh agent may take to its first successful cycle, 0 to 3600",
    "watchdog_feed_stale_bars": "how many base timeframes the newest candle may lag market time, > 0",
    "watchdog_error_rate": "a fraction of failed cycles, > 0 and <= 1",
    "watchdog_error_window": "a whole number of recent cycles, 2 to 1000",
    "watchdog_max_restarts": "a whole number of restarts, 1 to 100",
    "watchdog_restart_window_min": "minutes, > 0 and <= 1440",
    "watchdog_record_every_s": "seconds between repeated check records, 0 to 86400",
    "watchdog_kill_grace_s": "seconds a stopping agent gets before SIGKILL, 0 to 60",
}


class HealthSettings(BaseSettings):
    """TB_WATCHDOG_* from the environment over .env."""

    model_config = SettingsConfigDict(env_prefix="TB_", env_file=None, extra="ignore", validate_default=True,
                                      env_file_encoding="utf-8")

    watchdog_interval_s: float = Field(2.0, gt=0, le=300)
    watchdog_stale_s: float = Field(0.0, ge=0, le=86400)
    watchdog_startup_grace_s: float = Field(30.0, ge=0, le=3600)
    watchdog_feed_stale_bars: float = Field(3.0, gt=0, le=1000)
    watchdog_error_rate: float = Field(0.5, gt=0, le=1)
    watchdog_error_window: int = Field(20, ge=2, le=1000)
    watchdog_max_restarts: int = Field(3, ge=1, le=100)
    watchdog_restart_window_min: float = Field(30.0, gt=0, le=1440)
    watchdog_record_every_s: float = Field(300.0, ge=0, le=86400)
    watchdog_kill_grace_s: float = Field(3.0, ge=0, le=60)

    @classmethod
    def load(cls, root: Path, overrides: dict[str, Any] | None = None) -> "HealthSettings":
        """Environment over `<root>/.env`, then `overrides` (CLI flags); a bad value raises ConfigError."""
        env_file = root / ".env"
        try:
            base = cls(_env_file=env_file if env_file.exists() else None)  # type: ignore[call-arg]
            given = {k: v for k, v in (overrides or {}).items() if v is not None}
            return cls.model_validate({**base.model_dump(), **given}) if given else base
        except ValidationError as exc:
            raise setting_error(exc, _HINTS) from None


@dataclass(frozen=True)
class Thresholds:
    """What "ready" means and when the watchdog gives up, in seconds."""

    stale_s: float                 # no successful cycle for this long = hung
    startup_grace_s: float         # a new process may take this long to its first successful cycle
    feed_stale_bars: float         # newest candle older than this many base timeframes (market time) = stale feed
    error_rate: float              # this share of failed cycles among the last `error_window` = stuck
    error_window: int
    max_restarts: int              # R restarts ...
    restart_window_s: float        # ... within M minutes, then stop restarting and mark the agent failed
    record_every_s: float          # repeat an unchanged check result in the events table this often
    kill_grace_s: float            # a stopping agent gets this long (after SIGCONT) before SIGKILL

    @classmethod
    def derive(cls, hs: HealthSettings, cycle_seconds: float) -> "Thresholds":
        """The staleness limit follows the cycle interval: a 60 s cycle is not hung after 10 s."""
        stale = hs.watchdog_stale_s or max(MIN_STALE_S, STALE_CYCLES * cycle_seconds)
        return cls(stale, hs.watchdog_startup_grace_s, hs.watchdog_feed_stale_bars, hs.watchdog_error_rate,
                   hs.watchdog_error_window, hs.watchdog_max_restarts, hs.watchdog_restart_window_min * 60.0,
                   hs.watchdog_record_every_s, hs.watchdog_kill_grace_s)

    def with_(self, **changes: Any) -> "Thresholds":
        return replace(self, **changes)


def agent_timeframes(root: Path, agents: tuple[str, ...] = AGENTS) -> dict[str, int]:
    """Each agent's base timeframe in seconds, from config/universe.yaml (the feed-freshness unit).
    An agent whose universe cannot be read is left out: its feed is then not judged, the rest still is."""
    from shared.market.universe import load_universe

    found: dict[str, int] = {}
    for agent in agents:
        try:
            found[agent] = timeframe_seconds(load_universe(root / "config" / "universe.yaml", agent).timeframe)
        except (ConfigError, OSError, ValueError, yaml.YAMLError):
            continue
    return found
