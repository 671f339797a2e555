"""The health check's vocabulary: one CheckResult per thing looked at, and the context every check reads from."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.health.config import AGENTS, HELPERS, Thresholds
from shared.health.programs import ProgramState
from shared.health.status import Status


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status.value, "detail": self.detail, "data": self.data}


@dataclass(frozen=True)
class FleetPlaces:
    """Where the fleet lives (from Settings, resolved)."""

    root: Path
    db_path: Path
    log_dir: Path
    run_dir: Path
    mode: str


@dataclass(frozen=True)
class HostLimits:
    """Fixed limits for the machine-level checks; free space and memory are judged as shares and absolutes."""

    disk_warn_free_pct: float = 10.0
    disk_crit_free_pct: float = 3.0
    disk_warn_free_bytes: int = 2 * 1024**3
    disk_crit_free_bytes: int = 512 * 1024**2
    mem_warn_available_pct: float = 10.0
    mem_crit_available_pct: float = 5.0
    cpu_warn_pct: float = 95.0          # used where there is no load average
    load_warn_per_core: float = 2.0
    cpu_sample_s: float = 0.3
    wal_warn_bytes: int = 256 * 1024**2
    wal_crit_bytes: int = 2 * 1024**3
    outbox_warn_age_s: float = 120.0
    outbox_crit_age_s: float = 900.0
    failed_delivery_window_s: float = 86400.0
    log_window_s: float = 900.0


@dataclass(frozen=True)
class CheckContext:
    places: FleetPlaces
    limits: Thresholds
    host: HostLimits
    timeframes: dict[str, int]
    now: datetime
    supervisor_up: bool
    programs: dict[str, ProgramState]
    conn: sqlite3.Connection | None          # read-only; None when there is no database yet
    agents: tuple[str, ...] = AGENTS
    helpers: tuple[str, ...] = HELPERS
