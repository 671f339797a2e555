"""`python -m shared.fleet start|stop|restart|status|logs|check` — what start_trading_system.sh runs."""
from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from string import Template
from typing import Iterator

import click
import psutil
from rich.console import Console

from shared.audit.db import connect
from shared.audit.migrations import migrate
from shared.config.errors import CONFIG_EXIT_CODE, ConfigError
from shared.config.settings import Settings, load_settings
from shared.fleet.paths import FleetPaths
from shared.fleet.status import status_table
from shared.fleet.supervisor_client import is_running, process_info, rpc
from shared.market import sim_clock_store

AGENTS = ("hybrid", "futures")
console = Console(width=170)


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as err:
        click.echo(str(err), err=True)
        sys.exit(CONFIG_EXIT_CODE)


def check_config() -> Settings:
    """Validate settings and both agents' profiles, universe and data; exit 2 with one line on error."""
    from agents.futures import SPEC as FUTURES
    from agents.hybrid import SPEC as HYBRID
    from shared.runner import load_agent_config

    from shared.health.config import HealthSettings
    from shared.notify.config import NotifySettings

    settings = _settings()
    try:
        for spec in (HYBRID, FUTURES):
            load_agent_config(spec)
        NotifySettings.load(settings.root)
        HealthSettings.load(settings.root)
    except ConfigError as err:
        click.echo(str(err), err=True)
        sys.exit(CONFIG_EXIT_CODE)
    return settings


def render_config(paths: FleetPaths) -> Path:
    template = Template((paths.root / "config" / "supervisord.conf.template").read_text())
    paths.run_dir.mkdir(parents=True, exist_ok=True)
    paths.log_dir.mkdir(parents=True, exist_ok=True)
    paths.conf.write_text(template.substitute(ROOT=paths.root, RUN_DIR=paths.run_dir, LOG_DIR=paths.log_dir,
                                              PYTHON=paths.python))
    return paths.conf


def prepare_database(settings: Settings) -> None:
    """Create or migrate the database and resume the replay clock where the fleet left off."""
    conn = connect(settings.db_path)
    try:
        migrate(conn)
        if settings.mode == "sim":
            start = sim_clock_store.resume_point(conn, settings.sim_start)
            sim_clock_store.anchor(conn, start, settings.sim_clock_rate)
    finally:
        conn.close()


@contextmanager
def single_instance(paths: FleetPaths) -> Iterator[None]:
    paths.run_dir.mkdir(parents=True, exist_ok=True)
    with open(paths.lock, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            click.echo("another start or stop of this fleet is in progress; try again in a moment", err=True)
            sys.exit(1)
        yield


def _supervisord_pid(paths: FleetPaths) -> int | None:
    try:
        pid = int(paths.pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if psutil.pid_exists(pid) else None


def _wait_running(paths: FleetPaths, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        infos = process_info(paths.socket)
        agents = [i for i in infos if i["name"] in AGENTS]
        if agents and all(i["statename"] == "RUNNING" for i in agents):
            return True
        if any(i["statename"] in ("FATAL", "EXITED") for i in agents):
            return False
        time.sleep(0.5)
    return False


def _open_db(settings: Settings):  # type: ignore[no-untyped-def]
    return connect(settings.db_path, readonly=True) if settings.db_path.exists() else None


def _print_status(settings: Settings, paths: FleetPaths) -> None:
    conn = _open_db(settings)
    try:
        console.print(status_table(paths, conn))
    finally:
        if conn is not None:
            conn.close()
    console.print(f"mode: {settings.mode}   database: {settings.db_path}   logs: {paths.log_dir}/")


@click.group()
def cli() -> None:
    """Tracer fleet control."""


@cli.command("check")
def check_cmd() -> None:
    """Validate the configuration and exit (0 ok, 2 bad setting)."""
    check_config()
    click.echo("configuration ok")


@cli.command("start")
@click.option("--foreground", is_flag=True, help="run supervisord in the foreground (for systemd/launchd)")
def start_cmd(foreground: bool) -> None:
    """Start the fleet under supervisord (idempotent)."""
    settings = check_config()
    paths = FleetPaths.from_settings(settings)
    with single_instance(paths):
        if is_running(paths.socket):
            click.echo(f"Tracer fleet is already running (supervisord pid {_supervisord_pid(paths)}); not starting a "
                       "second one. Use status, restart or stop.")
            sys.exit(1 if foreground else 0)
        orphans = _kill_leftovers(paths.root)  # a supervisord that died leaves its programs behind
        if orphans:
            click.echo(f"stopped programs left running by a previous supervisord: {orphans}")
        prepare_database(settings)
        conf = render_config(paths)
        paths.socket.unlink(missing_ok=True)
        cmd = [str(Path(sys.executable).parent / "supervisord"), "-c", str(conf)]
        if foreground:
            os.execv(cmd[0], cmd + ["-n"])
        subprocess.run(cmd, check=True, cwd=paths.root)
        ok = _wait_running(paths, timeout=30)
    _print_status(settings, paths)
    if not ok:
        click.echo(f"some programs did not reach RUNNING; see {paths.log_dir}/", err=True)
        sys.exit(1)
    click.echo("started. `./start_trading_system.sh status` shows the fleet, `./start_trading_system.sh stop` stops it.")


def stop_fleet(paths: FleetPaths, timeout: float = 60) -> list[int]:
    """Shut supervisord (and through it every program) down; return pids of leftovers we had to kill."""
    pid = _supervisord_pid(paths)
    if is_running(paths.socket):
        try:
            rpc(paths.socket).supervisor.shutdown()
        except Exception:  # noqa: BLE001 - the connection may drop as it exits
            pass
    if pid:
        try:
            psutil.Process(pid).wait(timeout=timeout)
        except psutil.NoSuchProcess:
            pass
        except psutil.TimeoutExpired:
            os.kill(pid, signal.SIGKILL)
    return _kill_leftovers(paths.root)


# The command lines of the programs supervisord runs for us (config/supervisord.conf.template).
_FLEET_PROGRAMS = ("-m agents.", "-m shared.notify", "-m shared.health watchdog", "-m shared.health listener",
                   "bin/supervisord")


def _kill_leftovers(root: Path) -> list[int]:
    """Our fleet programs still running from this checkout (e.g. orphans after supervisord itself was killed).
    Only the fleet's programs: a health check or fleet command running beside us is left alone."""
    leftovers = []
    own = {os.getpid(), *(p.pid for p in psutil.Process().parents())}
    for proc in psutil.process_iter(["pid", "cmdline", "cwd"]):
        try:
            cmd = " ".join(proc.info["cmdline"] or [])
            if proc.info["cwd"] == str(root) and any(p in cmd for p in _FLEET_PROGRAMS) and proc.pid not in own:
                proc.kill()
                leftovers.append(proc.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return leftovers


@cli.command("stop")
def stop_cmd() -> None:
    """Stop every process the fleet started."""
    settings = _settings()
    paths = FleetPaths.from_settings(settings)
    with single_instance(paths):
        was_running = is_running(paths.socket)
        killed = stop_fleet(paths)
    paths.socket.unlink(missing_ok=True)
    if killed:
        click.echo(f"killed leftover processes: {killed}")
    click.echo("Tracer fleet stopped." if was_running else "Tracer fleet was not running.")


@cli.command("restart")
@click.pass_context
def restart_cmd(ctx: click.Context) -> None:
    """Stop, then start."""
    ctx.invoke(stop_cmd)
    ctx.invoke(start_cmd, foreground=False)


@cli.command("status")
def status_cmd() -> None:
    """Each program's state, pid, uptime, last cycle and open positions. Exit 3 if the fleet is not running."""
    settings = _settings()
    paths = FleetPaths.from_settings(settings)
    if not is_running(paths.socket):
        click.echo("Tracer fleet is not running. Start it with ./start_trading_system.sh")
        sys.exit(3)
    _print_status(settings, paths)


@cli.command("logs")
@click.argument("program", required=False,
                type=click.Choice([*AGENTS, "watchdog", "notifier", "alerts", "supervisord"]))
@click.option("-f", "--follow", is_flag=True, help="keep following (Ctrl-C to stop)")
@click.option("-n", "--lines", default=40, show_default=True)
def logs_cmd(program: str | None, follow: bool, lines: int) -> None:
    """Show the last lines of the fleet's logs."""
    settings = _settings()
    files = [settings.log_dir / f"{p}.log" for p in ([program] if program else [*AGENTS, "supervisord"])]
    existing = [str(f) for f in files if f.exists()]
    if not existing:
        click.echo(f"no logs yet in {settings.log_dir}/")
        return
    os.execvp("tail", ["tail", "-n", str(lines), *(["-F"] if follow else []), *existing])


def main() -> None:
    cli(prog_name="start_trading_system.sh")
