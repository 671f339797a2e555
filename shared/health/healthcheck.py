"""The on-call health check: run every check into a report; optionally alert on it (--notify) and restart what is
down (--fix). Reading is read-only; only --notify and --fix write (events, outbox, watchdog state)."""
from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from shared.audit.db import connect, transaction
from shared.health import checks_fleet, checks_host, checks_notify
from shared.health.checks import CheckContext, CheckResult, FleetPlaces, HostLimits
from shared.health.config import AGENTS, HELPERS, Thresholds
from shared.health.events import record_event
from shared.health.heartbeats import heartbeat_view
from shared.health.locks import agent_lock
from shared.health.programs import DOWN_STATES, Control, ControlError
from shared.health.readiness import assess
from shared.health.report import HealthReport
from shared.health.state import load_state, save_state
from shared.health.status import Status
from shared.notify import messages
from shared.notify.models import Severity
from shared.notify.outbox import enqueue

log = logging.getLogger(__name__)
NOTIFY_REPEAT_S = 3600.0  # the same set of problems alerts again at most hourly (cron runs every 15 min)


def gather(places: FleetPlaces, limits: Thresholds, host: HostLimits, timeframes: dict[str, int], control: Control,
           now: datetime, actions: tuple[str, ...] = ()) -> HealthReport:
    up = control.available()
    conn = connect(places.db_path, readonly=True) if places.db_path.exists() else None
    try:
        ctx = CheckContext(places, limits, host, timeframes, now, up, control.programs() if up else {}, conn)
        steps: list[Callable[[CheckContext], CheckResult | list[CheckResult]]] = [
            checks_fleet.check_supervisord, checks_fleet.check_agents, checks_fleet.check_helper_programs,
            checks_fleet.check_watchdog_activity, checks_host.check_database, checks_notify.check_outbox,
            checks_host.check_logs, checks_host.check_disk, checks_host.check_memory, checks_host.check_cpu,
            checks_fleet.check_venue]
        results: list[CheckResult] = []
        for step in steps:
            try:
                out = step(ctx)
            except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
                log.exception("check %s failed", step.__name__)
                out = CheckResult(step.__name__.removeprefix("check_"), Status.WARNING, f"check failed: {exc}")
            results += out if isinstance(out, list) else [out]
    finally:
        if conn is not None:
            conn.close()
    return HealthReport(now, places.mode, tuple(results), actions)


# -- --notify ------------------------------------------------------------------------------------------
def notify(conn: sqlite3.Connection, report: HealthReport) -> str | None:
    """Record this run; alert when not OK (hourly at most for the same problems), and once when OK again."""
    prev = conn.execute("SELECT data FROM events WHERE agent='fleet' AND kind='health_check' ORDER BY id DESC LIMIT 1"
                        ).fetchone()
    was_ok = prev is None or json.loads(prev[0] or "{}").get("status") in (None, Status.OK.value)
    status = report.status
    problems = report.problems()
    with transaction(conn):
        record_event(conn, report.checked_at, "fleet", "health_check", report.summary(), status.event_severity,
                     {"status": status.value, "problems": [c.name for c in problems]})
        if status in (Status.OK, Status.NA):
            if was_ok:
                return None
            enqueue(conn, messages.health_check_recovered("fleet", "every check is OK again"), now=report.checked_at)
            return "recovered"
        detail = "\n".join(f"{c.status.value.upper()} {c.name}: {c.detail}" for c in problems)
        alert = messages.health_check_failed(", ".join(c.name for c in problems[:4]), detail, agent="fleet",
                                             severity=Severity.CRITICAL if status is Status.CRITICAL else Severity.WARNING)
        key = "health_check:" + ",".join(sorted(c.name for c in problems))
        enqueue(conn, replace(alert, dedup_key=key), now=report.checked_at, dedup_window_s=NOTIFY_REPEAT_S)
    return status.value


# -- --fix ---------------------------------------------------------------------------------------------
def fix(places: FleetPlaces, limits: Thresholds, timeframes: dict[str, int], control: Control, now: datetime,
        start_fleet: Callable[[], tuple[bool, str]], wait_s: float = 30.0) -> list[str]:
    """Start what is down, restart agents that are alive but not ready; say what was done."""
    if not control.available():
        ok, out = start_fleet()
        return ["started the fleet (supervisord was not running)" if ok else f"could not start the fleet: {out}"]
    programs = control.programs()
    conn = connect(places.db_path) if places.db_path.exists() else None
    actions: list[tuple[str, str]] = []  # (program, what was done)
    touched: list[str] = []
    try:
        for name in (*AGENTS, *HELPERS):
            prog = programs.get(name)
            if prog is None:
                continue
            with agent_lock(places.run_dir, name, wait_s=20.0) as held:
                if not held:
                    actions.append((name, f"{name}: skipped, the watchdog is acting on it right now"))
                    continue
                try:
                    if prog.state in DOWN_STATES or prog.state == "BACKOFF":
                        actions.append((name, control.start(name)))
                        touched.append(name)
                    elif name in AGENTS and prog.running and conn is not None:
                        r = assess(name, prog, heartbeat_view(conn, name), now, limits, timeframes.get(name))
                        if r.needs_restart:
                            actions.append((name, f"{control.restart(name, limits.kill_grace_s)} (not ready: {r.detail})"))
                            touched.append(name)
                except ControlError as exc:
                    actions.append((name, f"{name}: {exc}"))
        if conn is not None:
            _record_fix(conn, now, actions, touched)
    finally:
        if conn is not None:
            conn.close()
    if touched:
        _wait_running(control, touched, wait_s)
    return [text for _, text in actions] or ["nothing to fix: every program is running"]


def _record_fix(conn: sqlite3.Connection, now: datetime, actions: list[tuple[str, str]], touched: list[str]) -> None:
    """An operator's fix is a fresh start: clear the watchdog's failed mark and restart budget for what it touched."""
    with transaction(conn):
        for name, action in actions:
            record_event(conn, now, name, "health_fix", action, "warning")
        for name in touched:
            if name not in AGENTS:
                continue
            try:
                st = load_state(conn, name)
            except sqlite3.OperationalError:  # database from before migration v4
                return
            if st.failed or st.restarts:
                save_state(conn, st.cleared(), now)
                record_event(conn, now, name, "watchdog_cleared", f"{name}: failed mark and restart count cleared by "
                             "health_check --fix", "info", {"failed_reason": st.failed_reason})


def _wait_running(control: Control, names: list[str], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        programs = control.programs()
        if all(programs.get(n) is not None and programs[n].running for n in names):
            return True
        if any(programs.get(n) is not None and programs[n].state == "FATAL" for n in names):
            return False
        time.sleep(0.5)
    return False


def start_fleet_script(places: FleetPlaces) -> Callable[[], tuple[bool, str]]:
    """stop, then start: if supervisord died, its programs may still run orphaned; `stop` kills those leftovers
    first, so the new supervisord does not start a second copy of an agent next to them."""
    script = str(places.root / "start_trading_system.sh")

    def run() -> tuple[bool, str]:
        subprocess.run([script, "stop"], cwd=places.root, capture_output=True, text=True, timeout=120)
        proc = subprocess.run([script, "start"], cwd=places.root, capture_output=True, text=True, timeout=600)
        return proc.returncode == 0, (proc.stderr or proc.stdout).strip()[-500:]
    return run
