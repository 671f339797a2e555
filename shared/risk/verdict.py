"""The answer of every risk rule: allowed or not, which rule, the numbers it used, one readable reason."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

Number = float | int | str | bool | None


def _clean(value: Any) -> Number:
    """Numbers as plain JSON-friendly values (numpy scalars become floats; NaN/inf become None)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    return round(f, 10) if math.isfinite(f) else None


@dataclass(frozen=True)
class RiskVerdict:
    """One rule's verdict. `numbers` are the inputs and results the decision row records.

    The engine's aggregate verdict carries the individual verdicts it evaluated in `checks`.
    """

    allowed: bool
    rule: str
    reason: str
    numbers: Mapping[str, Number] = field(default_factory=dict)
    checks: tuple["RiskVerdict", ...] = ()

    @classmethod
    def ok(cls, rule: str, reason: str, **numbers: Any) -> "RiskVerdict":
        return cls(True, rule, reason, {k: _clean(v) for k, v in numbers.items()})

    @classmethod
    def reject(cls, rule: str, reason: str, **numbers: Any) -> "RiskVerdict":
        return cls(False, rule, reason, {k: _clean(v) for k, v in numbers.items()})

    @property
    def rejected(self) -> bool:
        return not self.allowed

    def to_dict(self) -> dict[str, Any]:
        """For the decision row's details: rule, allowed, reason, numbers, and each sub-check."""
        d: dict[str, Any] = {"rule": self.rule, "allowed": self.allowed, "reason": self.reason,
                             "numbers": dict(self.numbers)}
        if self.checks:
            d["checks"] = [c.to_dict() for c in self.checks]
        return d

    def __str__(self) -> str:
        return f"{'ALLOW' if self.allowed else 'REJECT'} [{self.rule}] {self.reason}"


Rejection = RiskVerdict  # a RiskVerdict with allowed=False; the alias reads well at call sites


def first_rejection(verdicts: tuple[RiskVerdict, ...] | list[RiskVerdict]) -> RiskVerdict | None:
    return next((v for v in verdicts if not v.allowed), None)
