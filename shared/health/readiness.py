"""Is an agent ready? Pure judgement of supervisord's view and the heartbeats at a given time.

Alive (supervisord says RUNNING) is not enough: a SIGSTOPped, deadlocked or stuck agent is RUNNING too. Ready means
it completed a cycle recently, the market data it sees is fresh, and most of its recent cycles succeed. Only this
process's heartbeats count (its pid, or written since it started), so a restarted agent is not judged on its predecessor's rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.health.config import Thresholds
from shared.health.heartbeats import Beat, HeartbeatView
from shared.health.programs import TRANSIENT_STATES, ProgramState
from shared.health.status import Status
from shared.notify.timefmt import age_text

# state words
READY, STARTING, NOT_READY, TRANSIENT, DOWN = "ready", "starting", "not_ready", "transient", "down"
# problem words (also used in alert dedup keys)
HEARTBEAT_STALE, FEED_STALE, ERROR_RATE = "heartbeat_stale", "feed_stale", "error_rate"


@dataclass(frozen=True)
class Readiness:
    agent: str
    state: str                       # ready | starting | not_ready | transient | down
    status: Status
    detail: str                      # one line for a person
    problems: tuple[str, ...] = ()   # why not ready: heartbeat_stale, feed_stale, error_rate
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def needs_restart(self) -> bool:
        return self.state == NOT_READY

    @property
    def signature(self) -> str:
        """What makes two results "the same" for recording on change."""
        return f"{self.status.value}:{self.state}:{','.join(self.problems)}"


def assess(agent: str, prog: ProgramState | None, hb: HeartbeatView, now: datetime, limits: Thresholds,
           timeframe_s: int | None) -> Readiness:
    if prog is None:
        return Readiness(agent, DOWN, Status.CRITICAL, "not known to supervisord (is the fleet running?)")
    if prog.down:
        what = f"{prog.state}" + (f": {prog.description}" if prog.description else "")
        return Readiness(agent, DOWN, Status.CRITICAL, what, metrics={"state": prog.state})
    if prog.state in TRANSIENT_STATES:
        return Readiness(agent, TRANSIENT, Status.WARNING, f"{prog.state} (supervisord is handling it)",
                         metrics={"state": prog.state})
    return _running(agent, prog, hb, now, limits, timeframe_s)


def _running(agent: str, prog: ProgramState, hb: HeartbeatView, now: datetime, limits: Thresholds,
             timeframe_s: int | None) -> Readiness:
    def of_this_process(b: Beat) -> bool:
        # by pid; or written since this start (should a wrapper ever sit between supervisord and the agent)
        return b.pid == prog.pid or (prog.started_at is not None and b.ts.timestamp() >= prog.started_at)

    mine = [b for b in hb.recent if of_this_process(b)]
    uptime = (now.timestamp() - prog.started_at) if prog.started_at else None
    last_ok = hb.last_ok if hb.last_ok is not None and of_this_process(hb.last_ok) else None
    metrics: dict[str, Any] = {"state": prog.state, "pid": prog.pid, "uptime_s": _r(uptime),
                               "last_ok_age_s": _r(_age(now, hb.last_ok)), "heartbeat_age_s": _r(_age(now, hb.newest)),
                               "stale_after_s": limits.stale_s}
    problems: list[str] = []
    notes: list[str] = []

    if last_ok is not None:
        age = _age(now, last_ok) or 0.0
        if age > limits.stale_s:
            problems.append(HEARTBEAT_STALE)
            notes.append(f"no successful cycle for {age_text(age)} (limit {age_text(limits.stale_s)})")
    else:
        grace = max(limits.stale_s, limits.startup_grace_s)
        if uptime is not None and uptime > grace:
            problems.append(HEARTBEAT_STALE)
            notes.append(f"no successful cycle since it started {age_text(uptime)} ago (limit {age_text(grace)})")
        else:
            return Readiness(agent, STARTING, Status.OK, f"starting (up {age_text(uptime or 0)}, no cycle yet)",
                             metrics=metrics)

    feed = _feed(mine, now, limits, timeframe_s)
    metrics.update(feed.metrics)
    if feed.stale:
        problems.append(FEED_STALE)
        notes.append(feed.note)

    rate, n = _error_rate(mine, limits.error_window)
    metrics.update({"error_rate": _r(rate, 3), "cycles_judged": n})
    if rate is not None and rate >= limits.error_rate:
        problems.append(ERROR_RATE)
        notes.append(f"{rate:.0%} of the last {n} cycles failed")

    if prog.os_status == "stopped":
        notes.append("process is stopped (SIGSTOP)")
    if problems:
        return Readiness(agent, NOT_READY, Status.CRITICAL, "; ".join(notes), tuple(problems), metrics)
    if notes or (rate is not None and rate >= limits.error_rate / 2):
        extra = notes or [f"{rate:.0%} of the last {n} cycles failed"]
        return Readiness(agent, READY, Status.WARNING, "; ".join(extra), (), metrics)
    last = hb.newest
    detail = f"cycle #{last.cycle} {age_text(_age(now, last) or 0)} ago" if last else "ready"
    if feed.metrics.get("feed_lag_s") is not None:
        detail += f", newest candle {age_text(feed.metrics['feed_lag_s'])} behind market time"
    return Readiness(agent, READY, Status.OK, detail, (), metrics)


@dataclass(frozen=True)
class _Feed:
    stale: bool
    note: str
    metrics: dict[str, Any]


def _feed(mine: list[Beat], now: datetime, limits: Thresholds, timeframe_s: int | None) -> _Feed:
    """Stale when no cycle of this process has seen a fresh candle for `stale_s` of wall time.

    Judging over wall time (not one cycle) keeps a short gap in the data, an exchange's maintenance window, from
    triggering a restart; fresh means the newest candle trails market time by at most `feed_stale_bars` bars.
    """
    judged = [b for b in mine if b.market_ts is not None]
    if timeframe_s is None or not judged:
        return _Feed(False, "", {})
    limit = limits.feed_stale_bars * timeframe_s
    lag = judged[0].feed_lag_s
    metrics = {"feed_lag_s": _r(lag), "feed_limit_s": limit}
    fresh = next((b for b in judged if b.feed_lag_s is not None and b.feed_lag_s <= limit), None)
    since = fresh.ts if fresh is not None else judged[-1].ts
    stale_for = (now - since).total_seconds()
    if fresh is judged[0] or stale_for <= limits.stale_s:
        return _Feed(False, "", metrics)
    seen = f"newest candle {age_text(lag)} behind market time" if lag is not None else "no candle in recent cycles"
    return _Feed(True, f"market data stale for {age_text(stale_for)}: {seen} (limit {limits.feed_stale_bars:g} bars "
                       f"= {age_text(limit)})", metrics)


def _error_rate(mine: list[Beat], window: int) -> tuple[float | None, int]:
    """Share of failed cycles among this process's last `window`; judged only once half a window exists."""
    recent = mine[:window]
    if len(recent) < max(2, window // 2):
        return None, len(recent)
    return sum(1 for b in recent if not b.ok) / len(recent), len(recent)


def _age(now: datetime, beat: Beat | None) -> float | None:
    return None if beat is None else (now - beat.ts).total_seconds()


def _r(x: float | None, digits: int = 1) -> float | None:
    return None if x is None else round(x, digits)
