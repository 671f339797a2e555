"""The three-level verdict every check and readiness assessment returns (plus n/a for checks that do not apply)."""
from __future__ import annotations

from collections.abc import Iterable
from enum import Enum


class Status(str, Enum):
    OK = "ok"
    NA = "n/a"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def exit_code(self) -> int:
        """health_check.sh's contract: 0 ok, 1 warning, 2 critical."""
        return {Status.WARNING: 1, Status.CRITICAL: 2}.get(self, 0)

    @property
    def event_severity(self) -> str:
        """The events table's severity words."""
        return {Status.WARNING: "warning", Status.CRITICAL: "critical"}.get(self, "info")


_RANK = {Status.OK: 0, Status.NA: 0, Status.WARNING: 1, Status.CRITICAL: 2}


def worst(statuses: Iterable[Status]) -> Status:
    found = [s for s in statuses]
    if not found:
        return Status.OK
    top = max(found, key=lambda s: s.rank)
    return Status.OK if top is Status.NA else top
