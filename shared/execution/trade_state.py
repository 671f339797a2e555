"""The trade phase of one symbol for one agent: WAIT -> ENTRY -> HOLD -> EXIT -> COOLDOWN -> WAIT.

- WAIT      flat, no working entry order, no cooldown: an entry may be considered.
- ENTRY     an entry order is working (a resting limit order, or a market order being submitted).
- HOLD      a position is open (exits are checked every candle).
- EXIT      an exit order is working.
- COOLDOWN  flat after a close, until `cooldown_until`: no new entry in this symbol.

The phase is derived from facts (position, working orders, the last close) by `derive_phase`, so a restarted agent
rebuilds it from the database; `check_transition` keeps the stored history honest. Pure: no I/O, no clock.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum


class TradePhase(str, Enum):
    WAIT = "WAIT"
    ENTRY = "ENTRY"
    HOLD = "HOLD"
    EXIT = "EXIT"
    COOLDOWN = "COOLDOWN"


P = TradePhase
# HOLD is reachable from every phase: a fill applied late (reconciliation) or a venue position we adopt.
# COOLDOWN is reachable from HOLD directly: a venue stop or a liquidation closed the position without an EXIT phase.
LEGAL: dict[TradePhase, frozenset[TradePhase]] = {
    P.WAIT: frozenset({P.ENTRY, P.HOLD}),
    P.ENTRY: frozenset({P.HOLD, P.WAIT}),
    P.HOLD: frozenset({P.EXIT, P.COOLDOWN}),
    P.EXIT: frozenset({P.COOLDOWN, P.HOLD}),
    P.COOLDOWN: frozenset({P.WAIT, P.HOLD, P.ENTRY}),
}


class IllegalPhaseChange(ValueError):
    pass


def check_transition(old: TradePhase, new: TradePhase) -> None:
    if old != new and new not in LEGAL[old]:
        allowed = ", ".join(p.value for p in LEGAL[old])
        raise IllegalPhaseChange(f"trade phase {old.value} -> {new.value} is not allowed; from {old.value}: {allowed}")


def phase_path(old: TradePhase, new: TradePhase) -> list[TradePhase]:
    """The legal phases from `old` to `new` (excluding `old`), shortest first: between two cycles (or while the agent
    was down) several steps can happen, e.g. WAIT -> HOLD -> COOLDOWN when an entry filled and its stop fired."""
    if old == new:
        return []
    frontier: list[list[TradePhase]] = [[old]]
    seen = {old}
    while frontier:
        path = frontier.pop(0)
        for nxt in sorted(LEGAL[path[-1]], key=lambda p: p.value):
            if nxt == new:
                return path[1:] + [new]
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(path + [nxt])
    raise IllegalPhaseChange(f"no legal path from {old.value} to {new.value}")


@dataclass(frozen=True)
class PhaseFacts:
    has_position: bool
    entry_working: bool = False
    exit_working: bool = False
    last_close: datetime | None = None  # market time the last position in this symbol closed
    cooldown_minutes: float = 0.0


def cooldown_until(facts: PhaseFacts) -> datetime | None:
    from datetime import timedelta

    if facts.last_close is None or facts.cooldown_minutes <= 0:
        return None
    return facts.last_close + timedelta(minutes=facts.cooldown_minutes)


def derive_phase(facts: PhaseFacts, now: datetime) -> TradePhase:
    """The phase the facts say we are in (working orders win over the position: an exit order working on an open
    position is EXIT; an entry order still working on a partly filled position is ENTRY)."""
    if facts.exit_working and facts.has_position:
        return P.EXIT
    if facts.entry_working:
        return P.ENTRY
    if facts.has_position:
        return P.HOLD
    until = cooldown_until(facts)
    if until is not None and now < until:
        return P.COOLDOWN
    return P.WAIT
