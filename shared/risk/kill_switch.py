"""The kill switch: a file whose existence halts the fleet. Anyone (operator, Telegram /kill, a script) can create it.

This is the only module in shared.risk that touches the file system, and only to test, create or remove one file.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class KillSwitchStatus:
    active: bool
    path: Path
    note: str = ""  # first line of the file, e.g. who engaged it and why

    @property
    def reason(self) -> str:
        return f"kill switch file {self.path} present" + (f": {self.note}" if self.note else "")


def read_kill_switch(path: Path) -> KillSwitchStatus:
    """Active when the file exists (its content is optional and only informative)."""
    if not path.exists():
        return KillSwitchStatus(False, path)
    try:
        note = path.read_text(errors="replace").strip().splitlines()[0][:200] if path.is_file() else ""
    except (OSError, IndexError):
        note = ""
    return KillSwitchStatus(True, path, note)


def engage_kill_switch(path: Path, reason: str, now: datetime, who: str = "operator") -> KillSwitchStatus:
    """Create the file (idempotent): '<UTC time> <who>: <reason>'."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{now.isoformat()} {who}: {reason}\n")
    return read_kill_switch(path)


def release_kill_switch(path: Path) -> bool:
    """Remove the file; True when it existed. Releasing does NOT resume a HALTED state (that is an operator resume)."""
    try:
        path.unlink()
        return True
    except FileNotFoundError:
        return False
