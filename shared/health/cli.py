"""`python -m shared.health watchdog|listener|check|dashboard`: the processes and commands of the health package.
Configuration is read once here, at the edge; the logic below receives objects and an injected clock."""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass

import click
from rich.console import Console

from shared.audit.db import connect, transaction
from shared.audit.migrations import migrate
from shared.clock import WallClock, utc_now
from shared.config.errors import ConfigError, exit_on_config_error
from shared.config.settings import Settings, load_settings
from shared.fleet.paths import FleetPaths
from shared.health.checks import FleetPlaces, HostLimits
from shared.health.config import AGENTS, HealthSettings, Thresholds, agent_timeframes
from shared.health.events import record_event
from shared.health.programs import SupervisorControl
from shared.health.status import Status, worst

log = logging.getLogger("shared.health")
LISTENER_BUSY_TIMEOUT_MS = 5000  # the listener answers supervisord promptly; a longer lock means FAIL and a re-send


@dataclass(frozen=True)
class Env:
    settings: Settings
    health: HealthSettings
    places: FleetPlaces
    limits: Thresholds
    timeframes: dict[str, int]
    control: SupervisorControl


def _env(overrides: dict | None = None) -> Env:
    try:
        settings = load_settings()
        hs = HealthSettings.load(settings.root, overrides)
    except ConfigError as err:
        exit_on_config_error(err)
    places = FleetPlaces(settings.root, settings.db_path, settings.log_dir, settings.run_dir, settings.mode)
    return Env(settings, hs, places, Thresholds.derive(hs, settings.cycle_seconds), agent_timeframes(settings.root),
               SupervisorControl(FleetPaths.from_settings(settings).socket))


@click.group()
def cli() -> None:
    """Tracer health: watchdog, supervisord event listener, health check, dashboard."""


# -- watchdog ------------------------------------------------------------------------------------------
@cli.command("watchdog")
@click.option("--agent", "agents", multiple=True, type=click.Choice(AGENTS), help="watch only this agent (repeatable)")
@click.option("--once", is_flag=True, help="check once, act if needed, print the result and exit (for cron/launchd)")
@click.option("--interval", "watchdog_interval_s", type=float, help="seconds between checks [TB_WATCHDOG_INTERVAL_S, 2]")
@click.option("--stale-s", "watchdog_stale_s", type=float,
              help="no successful cycle for this long = hung [TB_WATCHDOG_STALE_S; 0 = max(10, 10 x cycle)]")
@click.option("--startup-grace-s", "watchdog_startup_grace_s", type=float, help="[TB_WATCHDOG_STARTUP_GRACE_S, 30]")
@click.option("--feed-stale-bars", "watchdog_feed_stale_bars", type=float, help="[TB_WATCHDOG_FEED_STALE_BARS, 3]")
@click.option("--error-rate", "watchdog_error_rate", type=float, help="[TB_WATCHDOG_ERROR_RATE, 0.5]")
@click.option("--max-restarts", "watchdog_max_restarts", type=int, help="[TB_WATCHDOG_MAX_RESTARTS, 3]")
@click.option("--restart-window-min", "watchdog_restart_window_min", type=float,
              help="[TB_WATCHDOG_RESTART_WINDOW_MIN, 30]")
@click.option("--record-every-s", "watchdog_record_every_s", type=float, help="[TB_WATCHDOG_RECORD_EVERY_S, 300]")
@click.option("--kill-grace-s", "watchdog_kill_grace_s", type=float, help="[TB_WATCHDOG_KILL_GRACE_S, 3]")
def watchdog_cmd(agents: tuple[str, ...], once: bool, **overrides: float | None) -> None:
    """Restart agents that are alive but not ready; give up (CRITICAL alert) after R restarts in M minutes."""
    from shared.health.watchdog import Watchdog
    from shared.logging_setup import setup_logging

    env = _env(overrides)
    hs_interval = env.health.watchdog_interval_s
    setup_logging(env.settings, "watchdog")
    conn = connect(env.places.db_path)
    migrate(conn)
    dog = Watchdog(conn, env.control, WallClock(), env.limits, env.timeframes, agents=agents or AGENTS,
                   lock_dir=env.places.run_dir)
    if once:
        outcomes = dog.check_all()
        for o in outcomes:
            r = o.readiness
            click.echo(f"{o.agent}: " + ("skipped (another watchdog is acting on it)" if r is None else
                                         f"{r.status.value} {r.state}: {r.detail}") +
                       (f" -> {', '.join(o.actions)}" if o.actions else ""))
        sys.exit(worst(o.readiness.status for o in outcomes if o.readiness).exit_code)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    lim = env.limits
    msg = (f"watchdog started (pid {os.getpid()}): {', '.join(dog.agents)} every {hs_interval:g} s; hung after "
           f"{lim.stale_s:g} s; gives up after {lim.max_restarts} restarts in {lim.restart_window_s / 60:g} min")
    _event(conn, "watchdog_started", msg)
    log.info(msg)
    dog.run(stop, hs_interval)
    _event(conn, "watchdog_stopped", "watchdog stopped")
    log.info("stopped")


def _event(conn, kind: str, message: str) -> None:  # type: ignore[no-untyped-def]
    with transaction(conn):
        record_event(conn, utc_now(), "watchdog", kind, message)


# -- event listener ------------------------------------------------------------------------------------
@cli.command("listener")
def listener_cmd() -> None:
    """supervisord [eventlistener:alerts]: PROCESS_STATE_EXITED/BACKOFF/FATAL -> alerts. Speaks the protocol on
    stdin/stdout; logs to stderr."""
    from shared.health.listener import IncidentWriter, serve

    env = _env()
    handler = logging.StreamHandler(sys.stderr)  # stdout is the protocol channel
    fmt = logging.Formatter("%(asctime)s.%(msecs)03dZ alerts %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")
    fmt.converter = time.gmtime
    handler.setFormatter(fmt)
    logging.getLogger().handlers[:] = [handler]
    logging.getLogger().setLevel(env.settings.log_level)
    conn = connect(env.places.db_path)
    migrate(conn)
    conn.execute(f"PRAGMA busy_timeout={LISTENER_BUSY_TIMEOUT_MS}")
    log.info("event listener started (pid %d)", os.getpid())
    serve(sys.stdin.buffer, sys.stdout.buffer, IncidentWriter(conn, env.places.log_dir, utc_now))


# -- health check --------------------------------------------------------------------------------------
@cli.command("check")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")
@click.option("--notify", is_flag=True, help="enqueue an alert when not OK (and one when OK again)")
@click.option("--fix", is_flag=True, help="start what is down, restart agents that are hung; say what was done")
@click.option("--brief", is_flag=True, help="print one summary line (for cron logs)")
def check_cmd(as_json: bool, notify: bool, fix: bool, brief: bool) -> None:
    """Everything on-call needs in one look. Exit 0 ok, 1 warning, 2 critical."""
    from shared.health import healthcheck
    from shared.health.report import render_table

    env = _env()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    host = HostLimits()
    report = healthcheck.gather(env.places, env.limits, host, env.timeframes, env.control, utc_now())
    if fix and report.status is not Status.OK:
        actions = healthcheck.fix(env.places, env.limits, env.timeframes, env.control, utc_now(),
                                  healthcheck.start_fleet_script(env.places))
        report = healthcheck.gather(env.places, env.limits, host, env.timeframes, env.control, utc_now(),
                                    tuple(actions))
    if notify and env.places.db_path.exists():
        conn = connect(env.places.db_path)
        try:
            healthcheck.notify(conn, report)
        finally:
            conn.close()
    if as_json:
        click.echo(report.to_json())
    elif brief:
        click.echo(report.summary() + (f" | fixed: {'; '.join(report.actions)}" if report.actions else ""))
    else:
        console = Console(width=max(120, Console().width))
        console.print(render_table(report))
        for action in report.actions:
            console.print(f"[bold]fix:[/bold] {action}")
    sys.exit(report.exit_code)


# -- dashboard -----------------------------------------------------------------------------------------
@cli.command("dashboard")
@click.option("--once", is_flag=True, help="print one frame and exit")
@click.option("--refresh", type=float, default=2.0, show_default=True, help="seconds between refreshes")
def dashboard_cmd(once: bool, refresh: float) -> None:
    """Live view of both agents, the helper programs and recent alerts, until Ctrl-C."""
    from shared.health.dashboard import render, run_live, take_snapshot

    env = _env()
    console = Console(width=max(140, Console().width))

    def snap():  # type: ignore[no-untyped-def]
        return take_snapshot(env.places, env.limits, env.timeframes, env.control, utc_now())

    if once:
        console.print(render(snap()))
        return
    run_live(snap, refresh, console)


def main() -> None:
    cli(prog_name="python -m shared.health")
