"""Notification checks: alerts waiting per channel (backlog) and deliveries that failed for good (tables from m0003)."""
from __future__ import annotations

import sqlite3
from datetime import timedelta

from shared.clock import iso
from shared.health.checks import CheckContext, CheckResult
from shared.health.status import Status
from shared.notify.outbox import backlog
from shared.notify.timefmt import age_text, parse_iso


def check_outbox(ctx: CheckContext) -> list[CheckResult]:
    if ctx.conn is None:
        return []
    try:
        waiting = backlog(ctx.conn)
        since = iso(ctx.now - timedelta(seconds=ctx.host.failed_delivery_window_s))
        failed = ctx.conn.execute(
            "SELECT channel, count(*) AS n, max(updated_ts) AS last, (SELECT last_error FROM notify_deliveries d2"
            " WHERE d2.channel=d.channel AND d2.status='failed' ORDER BY d2.id DESC LIMIT 1) AS err"
            " FROM notify_deliveries d WHERE status='failed' AND updated_ts>=? GROUP BY channel", (since,)).fetchall()
        unrouted = ctx.conn.execute("SELECT count(*), min(created_ts) FROM notify_outbox WHERE routed_ts IS NULL").fetchone()
    except sqlite3.OperationalError as exc:
        return [CheckResult("alerts outbox", Status.WARNING, f"outbox tables not readable: {exc}")]
    return [_backlog_result(ctx, waiting, unrouted), _failed_result(failed)]


def _backlog_result(ctx: CheckContext, waiting, unrouted) -> CheckResult:  # type: ignore[no-untyped-def]
    oldest = [parse_iso(b.oldest_ts) for b in waiting if b.oldest_ts]
    if unrouted[0]:
        oldest.append(parse_iso(unrouted[1]))
    data = {"waiting": {b.channel: b.waiting for b in waiting}, "unrouted": unrouted[0]}
    if not oldest:
        return CheckResult("alerts outbox", Status.OK, "nothing waiting", data)
    age = max((ctx.now - t).total_seconds() for t in oldest)
    errors = [f"{b.channel}: {b.last_error}" for b in waiting if b.last_error]
    parts = [f"{b.channel} {b.waiting}" for b in waiting] + ([f"not yet routed {unrouted[0]}"] if unrouted[0] else [])
    text = f"waiting: {', '.join(parts)}; oldest {age_text(age)}" + (f"; last error {errors[0]}" if errors else "")
    if unrouted[0] and not waiting:
        text += " (is the notifier running?)"
    data["oldest_age_s"] = round(age, 1)
    status = Status.CRITICAL if age >= ctx.host.outbox_crit_age_s else \
        Status.WARNING if age >= ctx.host.outbox_warn_age_s else Status.OK
    return CheckResult("alerts outbox", status, text, data)


def _failed_result(failed) -> CheckResult:  # type: ignore[no-untyped-def]
    if not failed:
        return CheckResult("alert deliveries", Status.OK, "no failed delivery in the last 24 h")
    text = "; ".join(f"{r['channel']}: {r['n']} failed, last {r['last']} ({r['err']})" for r in failed)
    return CheckResult("alert deliveries", Status.WARNING, f"failed for good in the last 24 h: {text}",
                       {"failed": {r["channel"]: r["n"] for r in failed}})
