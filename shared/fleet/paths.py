"""Where the fleet keeps its runtime files."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from shared.config.settings import Settings


@dataclass(frozen=True)
class FleetPaths:
    root: Path
    run_dir: Path
    log_dir: Path
    db: Path
    python: str

    @classmethod
    def from_settings(cls, s: Settings) -> "FleetPaths":
        return cls(s.root, s.run_dir, s.log_dir, s.db_path, sys.executable)

    @property
    def conf(self) -> Path:
        return self.run_dir / "supervisord.conf"

    @property
    def socket(self) -> Path:
        return self.run_dir / "supervisor.sock"

    @property
    def pidfile(self) -> Path:
        return self.run_dir / "supervisord.pid"

    @property
    def lock(self) -> Path:
        return self.run_dir / "fleet.lock"
