"""Fault injection for crash-recovery tests: `kill -9` the agent at a named point of order submission.

Read ONLY here, and only from the environment (not a TB_* setting, so `load_settings` never sees it):

    TRACER_FAULT_CRASH_AT=after_submit            crash point (see POINTS)
    TRACER_FAULT_AGENT=futures                    optional: only this agent
    TRACER_FAULT_INTENT=entry                     optional: only orders with this intent

A point fires once per run directory: before the SIGKILL it writes `<run_dir>/fault-<point>-<agent>.fired`, so the
agent supervisord restarts does not crash again. Without the variable every call is a no-op.
"""
from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Callable

POINTS = (
    "before_submit",  # the order is recorded NEW, not yet sent: the venue never hears of it
    "after_submit",  # the venue accepted (and maybe filled) it; the database still says NEW
    "after_entry_fill",  # the entry fill is recorded; the protective stop is not placed yet
)


class FaultInjector:
    def __init__(self, agent: str, run_dir: Path | None, env: dict[str, str] | None = None,
                 action: Callable[[str], None] | None = None) -> None:
        """`action(point)` replaces the SIGKILL (in-process tests raise an exception instead)."""
        env = dict(os.environ) if env is None else env
        self.action = action
        self.point = env.get("TRACER_FAULT_CRASH_AT", "").strip()
        self.only_agent = env.get("TRACER_FAULT_AGENT", "").strip()
        self.only_intent = env.get("TRACER_FAULT_INTENT", "").strip()
        self.agent = agent
        self.run_dir = run_dir
        if self.point and self.point not in POINTS:
            raise ValueError(f"TRACER_FAULT_CRASH_AT={self.point!r} is not one of {', '.join(POINTS)}")

    @property
    def armed(self) -> bool:
        return bool(self.point) and (not self.only_agent or self.only_agent == self.agent)

    def marker(self) -> Path | None:
        return self.run_dir / f"fault-{self.point}-{self.agent}.fired" if self.run_dir else None

    def crash_point(self, point: str, intent: str = "", detail: str = "") -> None:
        """SIGKILL this process if `point` is the armed one (once per run directory). The marker file records
        `point intent detail pid` (detail: the client order id), so a test can find what was cut off."""
        if not self.armed or point != self.point or (self.only_intent and intent != self.only_intent):
            return
        marker = self.marker()
        if marker is not None:
            if marker.exists():
                return
            marker.parent.mkdir(parents=True, exist_ok=True)
            with open(marker, "w") as fh:
                fh.write(f"{point} {intent} {detail or '-'} {os.getpid()}\n")
                fh.flush()
                os.fsync(fh.fileno())
        if self.action is not None:
            self.action(point)
            return
        os.kill(os.getpid(), signal.SIGKILL)
