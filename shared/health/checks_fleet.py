"""Fleet checks: supervisord, each program's state, each agent's readiness, and the watchdog's own state."""
from __future__ import annotations

import sqlite3

from shared.health.checks import CheckContext, CheckResult
from shared.health.heartbeats import HeartbeatView, heartbeat_view
from shared.health.programs import ProgramState
from shared.health.readiness import READY, STARTING, assess
from shared.health.state import WatchdogState, all_states
from shared.health.status import Status
from shared.notify.timefmt import age_text, short


def check_supervisord(ctx: CheckContext) -> CheckResult:
    if ctx.supervisor_up:
        return CheckResult("supervisord", Status.OK, f"running, {len(ctx.programs)} programs")
    return CheckResult("supervisord", Status.CRITICAL, "not running: nothing is supervised "
                       "(start it: ./start_trading_system.sh, or health_check.sh --fix)")


def check_helper_programs(ctx: CheckContext) -> list[CheckResult]:
    """watchdog, notifier and the event listener: without them incidents go unseen or unsent."""
    if not ctx.supervisor_up:
        return []
    out = []
    for name in ctx.helpers:
        prog = ctx.programs.get(name)
        if prog is None:
            out.append(CheckResult(f"program {name}", Status.WARNING, "not configured in supervisord"))
            continue
        out.append(CheckResult(f"program {name}", _program_status(prog), _program_text(prog, ctx),
                               {"state": prog.state, "pid": prog.pid}))
    return out


def _program_status(prog: ProgramState) -> Status:
    if prog.running:
        return Status.OK
    return Status.CRITICAL if prog.down else Status.WARNING


def _program_text(prog: ProgramState, ctx: CheckContext) -> str:
    if prog.running and prog.started_at:
        return f"RUNNING pid {prog.pid}, up {age_text(ctx.now.timestamp() - prog.started_at)}"
    return f"{prog.state}" + (f" ({prog.description})" if prog.description else "")


def check_agents(ctx: CheckContext) -> list[CheckResult]:
    failed = {s.agent: s for s in _watchdog_states(ctx.conn) if s.failed}
    return [_agent(ctx, agent, failed.get(agent)) for agent in ctx.agents]


def _agent(ctx: CheckContext, agent: str, failed: WatchdogState | None) -> CheckResult:
    hb = heartbeat_view(ctx.conn, agent) if ctx.conn is not None else HeartbeatView((), None)
    prog = ctx.programs.get(agent) if ctx.supervisor_up else None
    r = assess(agent, prog, hb, ctx.now, ctx.limits, ctx.timeframes.get(agent))
    if r.state in (READY, STARTING):
        parts = [f"{prog.state} pid {prog.pid}" if prog else ""]
    else:
        parts = [r.detail if prog else ("not configured in supervisord" if ctx.supervisor_up else "not supervised")]
    parts.append(_cycle_text(ctx, hb))
    if r.state == READY and r.metrics.get("feed_lag_s") is not None:
        parts.append(f"newest candle {age_text(r.metrics['feed_lag_s'])} behind market time")
    if r.metrics.get("error_rate") is not None:
        parts.append(f"{r.metrics['error_rate']:.0%} of last {r.metrics['cycles_judged']} cycles failed")
    status = r.status
    data = {"state": r.state, "problems": list(r.problems), **r.metrics,
            "last_ok_ts": hb.last_ok.ts if hb.last_ok else None, "last_ok_cycle": hb.last_ok.cycle if hb.last_ok else None}
    if failed is not None:
        status = Status.CRITICAL
        parts.append(f"watchdog gave up at {short(failed.failed_ts)}: {failed.failed_reason}"  # type: ignore[arg-type]
                     " (start it again: health_check.sh --fix)")
        data["watchdog_failed_ts"] = failed.failed_ts
    return CheckResult(f"agent {agent}", status, "; ".join(p for p in parts if p), data)


def _cycle_text(ctx: CheckContext, hb: HeartbeatView) -> str:
    if hb.last_ok is None:
        return "no successful cycle recorded"
    text = f"last successful cycle #{hb.last_ok.cycle} {age_text((ctx.now - hb.last_ok.ts).total_seconds())} ago"
    if hb.newest is not None and hb.newest is not hb.last_ok:
        text += f", last heartbeat {age_text((ctx.now - hb.newest.ts).total_seconds())} ago ({hb.newest.error or 'ok'})"
    return text


def check_watchdog_activity(ctx: CheckContext) -> CheckResult:
    """The watchdog writes each agent's result at least every record_every_s; silence means it is not checking."""
    states = _watchdog_states(ctx.conn)
    recorded = [s.recorded_ts for s in states if s.recorded_ts is not None]
    prog = ctx.programs.get("watchdog")
    if not recorded:
        status = Status.WARNING if prog is not None and prog.running and _up_for(ctx, prog) > 60 else Status.OK
        return CheckResult("watchdog activity", status, "no check recorded yet")
    newest = max(recorded)
    age = (ctx.now - newest).total_seconds()
    limit = 2 * ctx.limits.record_every_s + 60
    restarts = sum(len(s.restarts) for s in states)
    detail = f"last check recorded {age_text(age)} ago; {restarts} restart(s) in the escalation window"
    running = prog is not None and prog.running
    status = Status.WARNING if running and age > limit and _up_for(ctx, prog) > limit else Status.OK  # type: ignore[arg-type]
    return CheckResult("watchdog activity", status, detail, {"last_recorded_ts": newest, "restarts_in_window": restarts})


def _up_for(ctx: CheckContext, prog: ProgramState) -> float:
    return ctx.now.timestamp() - prog.started_at if prog.started_at else 0.0


def _watchdog_states(conn: sqlite3.Connection | None) -> list[WatchdogState]:
    if conn is None:
        return []
    try:
        return all_states(conn)
    except sqlite3.OperationalError:  # a database from before migration v4
        return []


def check_venue(ctx: CheckContext) -> list[CheckResult]:
    """Venue reachability, clock skew against the venue and our positions against the venue's. Only sim exists so
    far, where the venue is in-process: these do not apply."""
    names = ("venue reachability", "clock skew", "positions vs venue")
    if ctx.places.mode == "sim":
        return [CheckResult(n, Status.NA, "n/a in sim") for n in names]
    return [CheckResult(n, Status.WARNING, f"not implemented for mode {ctx.places.mode}") for n in names]
