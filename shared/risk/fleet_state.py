"""ACTIVE / REDUCING / HALTED for one agent or the whole fleet: a small, pure state machine.

- ACTIVE: entries and exits allowed.
- REDUCING: no new entries, exits continue; flatten when StateConfig.reducing_flatten.
- HALTED: no new entries; flatten when StateConfig.halted_flatten (default). Only an operator resume leaves it.

Breaches escalate (ACTIVE -> REDUCING -> HALTED), never de-escalate by themselves. REDUCING returns to ACTIVE on
its own only on a later UTC day with no breach (auto_resume_next_day). Every transition returns a StateEvent for
the caller to persist; `restore_state` rebuilds the state from the last persisted record after a restart.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Mapping, Sequence

from shared.risk.config import StateConfig
from shared.risk.kill_switch import KillSwitchStatus
from shared.risk.verdict import Number, RiskVerdict

FLEET = "fleet"  # the scope name of fleet-wide state


class TradingMode(str, Enum):
    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"

    @property
    def severity(self) -> int:
        return {"ACTIVE": 0, "REDUCING": 1, "HALTED": 2}[self.value]

    @property
    def allows_entries(self) -> bool:
        return self is TradingMode.ACTIVE


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


@dataclass(frozen=True)
class TradingState:
    scope: str  # agent name or FLEET
    mode: TradingMode
    since: datetime
    reason: str = ""
    rule: str = ""
    flatten: bool = False  # the caller should close every open position of this scope

    @property
    def allows_entries(self) -> bool:
        return self.mode.allows_entries

    def to_record(self) -> dict[str, Any]:
        return {"scope": self.scope, "mode": self.mode.value, "since": _utc(self.since).isoformat(),
                "reason": self.reason, "rule": self.rule, "flatten": self.flatten}

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> "TradingState":
        return cls(str(rec["scope"]), TradingMode(rec["mode"]), _utc(datetime.fromisoformat(str(rec["since"]))),
                   str(rec.get("reason", "")), str(rec.get("rule", "")), bool(rec.get("flatten", False)))

    @classmethod
    def initial(cls, scope: str, now: datetime) -> "TradingState":
        return cls(scope, TradingMode.ACTIVE, _utc(now), "no persisted state: start ACTIVE")


@dataclass(frozen=True)
class StateEvent:
    """A transition the caller persists (events table kind 'risk_state'); `to_record` is its data column."""

    scope: str
    from_mode: TradingMode
    to_mode: TradingMode
    at: datetime
    rule: str
    reason: str
    numbers: Mapping[str, Number] = field(default_factory=dict)
    flatten: bool = False
    operator: str = ""

    @property
    def message(self) -> str:
        who = f" by {self.operator}" if self.operator else ""
        return f"{self.scope}: {self.from_mode.value} -> {self.to_mode.value}{who} [{self.rule}] {self.reason}"

    def to_record(self) -> dict[str, Any]:
        return {"scope": self.scope, "from": self.from_mode.value, "to": self.to_mode.value,
                "at": _utc(self.at).isoformat(), "rule": self.rule, "reason": self.reason,
                "numbers": dict(self.numbers), "flatten": self.flatten, "operator": self.operator}

    def state_after(self) -> TradingState:
        return TradingState(self.scope, self.to_mode, _utc(self.at), self.reason, self.rule, self.flatten)


@dataclass(frozen=True)
class Transition:
    state: TradingState
    event: StateEvent | None = None

    @property
    def changed(self) -> bool:
        return self.event is not None


def restore_state(scope: str, last_event: Mapping[str, Any] | None, now: datetime) -> TradingState:
    """The state after the last persisted StateEvent record (or TradingState record); ACTIVE when none exists."""
    if not last_event:
        return TradingState.initial(scope, now)
    if "to" in last_event:
        return TradingState(scope, TradingMode(last_event["to"]), _utc(datetime.fromisoformat(str(last_event["at"]))),
                            str(last_event.get("reason", "")), str(last_event.get("rule", "")),
                            bool(last_event.get("flatten", False)))
    return replace(TradingState.from_record(last_event), scope=scope)


def effective_state(agent: TradingState, fleet: TradingState) -> TradingState:
    """The more severe of the agent's own state and the fleet's; the agent's on a tie."""
    return fleet if fleet.mode.severity > agent.mode.severity else agent


def check_trading_state(agent: TradingState, fleet: TradingState) -> RiskVerdict:
    eff = effective_state(agent, fleet)
    nums = dict(agent_state=agent.mode.value, fleet_state=fleet.mode.value)
    if eff.allows_entries:
        return RiskVerdict.ok("trading_state", "agent and fleet ACTIVE", **nums)
    return RiskVerdict.reject("trading_state", f"{eff.scope} is {eff.mode.value} since {eff.since:%Y-%m-%d %H:%M}Z: "
                              f"{eff.reason}; no new entries", **nums)


class StateMachine:
    """Pure transitions; holds only configuration."""

    def __init__(self, cfg: StateConfig) -> None:
        self.cfg = cfg

    def _flatten(self, mode: TradingMode) -> bool:
        return (mode is TradingMode.HALTED and self.cfg.halted_flatten) or (
            mode is TradingMode.REDUCING and self.cfg.reducing_flatten)

    def target_for(self, breach: RiskVerdict) -> TradingMode:
        if breach.rule in ("daily_loss", "fleet_daily_loss"):
            return TradingMode(self.cfg.on_daily_loss)
        if breach.rule in ("max_drawdown", "fleet_max_drawdown"):
            return TradingMode(self.cfg.on_max_drawdown)
        return TradingMode.REDUCING

    def _move(self, state: TradingState, to: TradingMode, now: datetime, rule: str, reason: str,
              numbers: Mapping[str, Number], operator: str = "") -> Transition:
        flatten = self._flatten(to)
        ev = StateEvent(state.scope, state.mode, to, _utc(now), rule, reason, dict(numbers), flatten, operator)
        return Transition(ev.state_after(), ev)

    def evaluate(self, state: TradingState, breaches: Sequence[RiskVerdict], kill_switch: KillSwitchStatus,
                 now: datetime) -> Transition:
        """Apply this cycle's breaches (rejected daily-loss / drawdown verdicts) and the kill switch."""
        if kill_switch.active:
            if state.mode is TradingMode.HALTED:
                return Transition(state)
            return self._move(state, TradingMode.HALTED, now, "kill_switch", kill_switch.reason,
                              {"path": str(kill_switch.path)})
        worst: tuple[TradingMode, RiskVerdict] | None = None
        for b in breaches:
            if b.allowed:
                continue
            target = self.target_for(b)
            if worst is None or target.severity > worst[0].severity:
                worst = (target, b)
        if worst is not None:
            target, b = worst
            if target.severity > state.mode.severity:
                return self._move(state, target, now, b.rule, b.reason, b.numbers)
            return Transition(state)
        if (state.mode is TradingMode.REDUCING and self.cfg.auto_resume_next_day
                and _utc(now).date() > _utc(state.since).date()):
            return self._move(state, TradingMode.ACTIVE, now, "auto_resume",
                              f"new UTC day {_utc(now):%Y-%m-%d} and no limit breached (REDUCING since "
                              f"{_utc(state.since):%Y-%m-%d %H:%M}Z: {state.reason})", {})
        return Transition(state)

    def resume(self, state: TradingState, operator: str, now: datetime, kill_switch: KillSwitchStatus,
               note: str = "") -> Transition:
        """Operator action: back to ACTIVE from REDUCING or HALTED. Refused (ValueError) while the kill switch
        file exists or without an operator name; a no-op when already ACTIVE.

        The event carries rebase_marks=True: the caller measures peak and day-start equity from the resume on
        (otherwise the same drawdown would halt the scope again on the next cycle)."""
        if not operator.strip():
            raise ValueError("resume needs the operator's name (who resumed trading is recorded)")
        if kill_switch.active:
            raise ValueError(f"cannot resume {state.scope}: {kill_switch.reason}; remove the file first")
        if state.mode is TradingMode.ACTIVE:
            return Transition(state)
        reason = f"operator resume{': ' + note if note else ''} (was {state.mode.value}: {state.reason})"
        return self._move(state, TradingMode.ACTIVE, now, "operator_resume", reason, {"rebase_marks": True}, operator)
