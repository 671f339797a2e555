"""A health report: the checks' results, what --fix did, the overall status and exit code; as a table or JSON."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.table import Table
from rich.text import Text

from shared.clock import iso
from shared.health.checks import CheckResult
from shared.health.status import Status, worst

STYLE = {Status.OK: "green", Status.NA: "dim", Status.WARNING: "yellow", Status.CRITICAL: "bold red"}


@dataclass(frozen=True)
class HealthReport:
    checked_at: datetime
    mode: str
    checks: tuple[CheckResult, ...]
    actions: tuple[str, ...] = ()

    @property
    def status(self) -> Status:
        return worst(c.status for c in self.checks)

    @property
    def exit_code(self) -> int:
        return self.status.exit_code

    def problems(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status in (Status.WARNING, Status.CRITICAL)]

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status.value, "exit_code": self.exit_code, "checked_at": iso(self.checked_at),
                "mode": self.mode, "checks": [c.as_dict() for c in self.checks], "actions": list(self.actions)}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), default=_jsonable, indent=2)

    def summary(self) -> str:
        """One line: for cron logs and alert titles."""
        bad = self.problems()
        names = ", ".join(f"{c.name} ({c.status.value})" for c in bad)
        return f"{iso(self.checked_at)} health {self.status.value}" + (f": {names}" if names else "")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    return str(value)


def render_table(report: HealthReport) -> Table:
    status = report.status
    table = Table(title=Text(f"Tracer health: {status.value.upper()}  (mode {report.mode}, {iso(report.checked_at)})",
                             style=STYLE[status]), title_justify="left", expand=False)
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for c in report.checks:
        table.add_row(c.name, Text(c.status.value, style=STYLE[c.status]), c.detail)
    return table
