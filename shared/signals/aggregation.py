"""Aggregation: several strategies' signals for one symbol -> one action with confidence and reasons.

Signals are first put in terms of the account (SELL while long is an exit, CLOSE while flat means nothing),
then grouped into three sides: BUY, SELL and EXIT (CLOSE / PARTIAL_CLOSE). Different sides always conflict;
each mode says how a conflict is settled.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from pydantic import Field, field_validator

from shared.config.strict import StrictModel
from shared.signals.base import Action, Evaluation
from shared.signals.strategies import REGISTRY
from shared.signals.strategies.base import Signal

Mode = Literal["voting", "weighted", "unanimous", "threshold"]
SIDES = ("BUY", "SELL", "EXIT")


class AggregationConfig(StrictModel):

    mode: Mode = "weighted"
    min_signal_confidence: float = Field(0.0, ge=0, le=1, description="signals below this are ignored (and listed)")
    min_confidence: float = Field(0.4, ge=0, le=1, description="an aggregate below this becomes WAIT")
    min_votes: int = Field(1, ge=1, le=100, description="voting / unanimous: agreeing signals needed")
    threshold: float = Field(1.0, gt=0, le=100, description="threshold mode: sum of weight x confidence a side needs")
    weights: dict[str, float] = Field(default_factory=dict, description="per strategy; unlisted strategies weigh 1.0")
    abstain_vetoes: bool = Field(False, description="unanimous: a strategy that ran and said nothing blocks the trade")

    @field_validator("weights")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = [k for k in v if k not in REGISTRY]
        if unknown:
            raise ValueError(f"weights for unknown strategy {', '.join(unknown)}; known: {', '.join(sorted(REGISTRY))}")
        negative = [k for k, w in v.items() if not w >= 0]
        if negative:
            raise ValueError(f"weights must be >= 0 (got {', '.join(f'{k}={v[k]}' for k in negative)})")
        return v


DEFAULT_AGGREGATION = AggregationConfig()


@dataclass(frozen=True)
class Contribution:
    """One signal's part in the decision, for the audit row."""

    source: str
    action: str  # as the strategy said it
    side: str  # BUY / SELL / EXIT after mapping to the account; "" when ignored
    confidence: float
    weight: float
    counted: bool
    note: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)  # the strategy's numbers, for the decision row

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "action": self.action, "side": self.side,
                "confidence": round(self.confidence, 4), "weight": self.weight, "counted": self.counted,
                "note": self.note, "metadata": dict(self.metadata)}


@dataclass(frozen=True)
class Aggregate:
    action: Action
    confidence: float
    reason: str
    mode: str
    breakdown: tuple[Contribution, ...] = ()
    scores: Mapping[str, float] = field(default_factory=dict)  # per side, as the mode scores it
    sources: tuple[str, ...] = ()  # the strategies that carried the decision

    def to_evaluation(self, details: Mapping[str, Any] | None = None) -> Evaluation:
        d = {"aggregation": self.mode, "scores": {k: round(v, 4) for k, v in self.scores.items()},
             "signals": [c.as_dict() for c in self.breakdown], **(details or {})}
        return Evaluation(self.action, self.confidence, self.reason, d, "+".join(self.sources))


def _side_of(sig: Signal, position_qty: float, allow_short: bool) -> tuple[str, str]:
    """(side, note): the signal in terms of the account; side "" means it cannot apply now."""
    a = sig.action
    if a in (Action.CLOSE, Action.PARTIAL_CLOSE):
        return ("EXIT", "") if position_qty != 0 else ("", "nothing to close")
    if a is Action.BUY:
        return ("EXIT", "BUY while short -> exit") if position_qty < 0 else ("BUY", "")
    if position_qty > 0:
        return "EXIT", "SELL while long -> exit"
    if position_qty == 0 and not allow_short:
        return "", "SELL with no position on a long-only account"
    return "SELL", ""


def _exit_action(signals: Sequence[Signal]) -> Action:
    # A full CLOSE from any strategy wins over partial ones: the cautious reading of "get out".
    return Action.PARTIAL_CLOSE if all(s.action is Action.PARTIAL_CLOSE for s in signals) else Action.CLOSE


def _fmt(scores: Mapping[str, float], digits: int = 2) -> str:
    return ", ".join(f"{k} {v:.{digits}f}" for k, v in scores.items() if v)


def aggregate(signals: Iterable[Signal], config: AggregationConfig = DEFAULT_AGGREGATION, *,
              position_qty: float = 0.0, allow_short: bool = False, evaluated: Sequence[str] = ()) -> Aggregate:
    """One decision from the signals of one symbol.

    position_qty: the open position (signed; 0 flat). allow_short: whether SELL may open a short.
    evaluated: the strategies that ran (for abstentions in unanimous mode and for the WAIT reason).
    """
    mode = config.mode
    breakdown: list[Contribution] = []
    by_side: dict[str, list[tuple[Signal, float]]] = {s: [] for s in SIDES}
    for sig in signals:
        w = float(config.weights.get(sig.source, 1.0))
        side, note = _side_of(sig, position_qty, allow_short)
        if side and sig.confidence < config.min_signal_confidence:
            side, note = "", f"confidence {sig.confidence:.2f} < {config.min_signal_confidence:g}"
        if side and w == 0:
            side, note = "", "weight 0"
        breakdown.append(Contribution(sig.source, sig.action.value, side, sig.confidence, w, bool(side), note,
                                      sig.metadata))
        if side:
            by_side[side].append((sig, w))
    bd = tuple(breakdown)
    counted = [(s, w) for side in SIDES for s, w in by_side[side]]

    def wait(reason: str, scores: Mapping[str, float] | None = None) -> Aggregate:
        return Aggregate(Action.WAIT, 0.0, f"{mode}: {reason}", mode, bd, MappingProxyType(dict(scores or {})))

    if not counted:
        ran = f" from {', '.join(evaluated)}" if evaluated else ""
        ignored = f" ({len(bd)} ignored: " + "; ".join(f"{c.source} {c.note}" for c in bd) + ")" if bd else ""
        return wait(f"no usable signals{ran}{ignored}")

    if mode == "voting":
        scores = {s: float(len(by_side[s])) for s in SIDES}
        total = sum(scores.values())
        ranked = sorted(SIDES, key=lambda s: -scores[s])
        win, second = ranked[0], ranked[1]
        if scores[win] == scores[second]:
            return wait(f"conflict, tied vote ({_fmt(scores, 0)})", scores)
        if scores[win] < config.min_votes:
            return wait(f"{win} has {scores[win]:.0f} vote(s) < min_votes {config.min_votes}", scores)
        winners = by_side[win]
        mean_conf = sum(s.confidence for s, _ in winners) / len(winners)
        conf = mean_conf * scores[win] / total
        how = f"{win} wins {scores[win]:.0f} of {total:.0f} votes ({_fmt(scores, 0)}); mean confidence {mean_conf:.2f}"
    elif mode == "unanimous":
        sides = [s for s in SIDES if by_side[s]]
        scores = {s: float(len(by_side[s])) for s in SIDES}
        if len(sides) > 1:
            return wait(f"not unanimous, conflict ({_fmt(scores, 0)})", scores)
        win = sides[0]
        winners = by_side[win]
        if config.abstain_vetoes:
            silent = [n for n in evaluated if n not in {s.source for s, _ in winners}]
            if silent:
                return wait(f"not unanimous, {', '.join(silent)} abstained", scores)
        if len(winners) < config.min_votes:
            return wait(f"{win} has {len(winners)} signal(s) < min_votes {config.min_votes}", scores)
        conf = min(s.confidence for s, _ in winners)
        how = f"all {len(winners)} signal(s) say {win}; weakest confidence {conf:.2f}"
    else:  # weighted, threshold: scores are sums of weight x confidence per side
        scores = {s: sum(w * sig.confidence for sig, w in by_side[s]) for s in SIDES}
        total_w = sum(w for _, w in counted)
        ranked = sorted(SIDES, key=lambda s: -scores[s])
        win, second = ranked[0], ranked[1]
        if mode == "weighted":
            if scores[win] == scores[second]:
                return wait(f"conflict, equal weighted scores ({_fmt(scores)})", scores)
            # Opposing evidence cancels: only the margin over the runner-up counts, per unit of weight heard.
            conf = (scores[win] - scores[second]) / total_w
            how = f"{win} leads ({_fmt(scores)}, total weight {total_w:g}); net confidence {conf:.2f}"
        else:
            reached = [s for s in SIDES if scores[s] >= config.threshold]
            if len(reached) > 1:
                return wait(f"conflict, {' and '.join(reached)} both reach threshold {config.threshold:g} "
                            f"({_fmt(scores)})", scores)
            if not reached:
                return wait(f"no side reaches threshold {config.threshold:g} ({_fmt(scores)})", scores)
            win = reached[0]
            w_win = sum(w for _, w in by_side[win])
            others = sum(v for k, v in scores.items() if k != win)
            conf = (scores[win] / w_win) * scores[win] / (scores[win] + others)
            how = (f"{win} reaches threshold {config.threshold:g} ({_fmt(scores)}); weighted mean confidence "
                   f"{scores[win] / w_win:.2f} x share {scores[win] / (scores[win] + others):.2f}")
        winners = by_side[win]

    conf = float(min(1.0, max(0.0, conf)))
    if conf < config.min_confidence:
        return wait(f"{how}; confidence {conf:.2f} < min_confidence {config.min_confidence:g}", scores)
    win_signals = [s for s, _ in winners]
    action = _exit_action(win_signals) if win == "EXIT" else Action(win)
    why = " | ".join(s.reason for s in win_signals)
    return Aggregate(action, conf, f"{mode}: {how} | {why}", mode, bd, MappingProxyType(dict(scores)),
                     tuple(dict.fromkeys(s.source for s in win_signals)))
