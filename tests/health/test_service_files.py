"""The files that run Tracer for real: systemd units (configparser), launchd plists (plistlib) and the supervisord
template; every path they name exists in the repository once the install placeholder is replaced."""
from __future__ import annotations

import configparser
import os
import plistlib
import shlex
import subprocess
from pathlib import Path
from string import Template

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = "@TRACER_ROOT@"
OWNED = ["systemd/tracer.service", "systemd/tracer-health.service", "systemd/tracer-health.timer",
         "launchd/com.tracer.fleet.plist", "launchd/com.tracer.healthcheck.plist", "config/supervisord.conf.template",
         "scripts/health_check.sh", "scripts/monitoring_status.sh", "scripts/install_cron.sh",
         "scripts/watchdog/watchdog_hybrid.sh", "scripts/watchdog/watchdog_futures.sh", "docs/operations.md"]


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=True, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((ROOT / "systemd" / name).read_text().replace(PLACEHOLDER, str(ROOT)))
    return parser


def in_repo(path: str) -> Path:
    p = Path(path)
    assert p.is_absolute() and p.is_relative_to(ROOT), path
    return p


def test_fleet_unit_runs_supervisord_in_the_foreground_and_restarts_it():
    u = unit("tracer.service")
    svc = u["Service"]
    exe, *args = shlex.split(svc["ExecStart"])
    assert in_repo(exe) == ROOT / "start_trading_system.sh" and os.access(exe, os.X_OK)
    assert args == ["--foreground"]
    assert svc["Restart"] == "always" and in_repo(svc["WorkingDirectory"]) == ROOT
    assert u["Install"]["WantedBy"] == "multi-user.target"


def test_health_timer_runs_the_check_every_15_minutes():
    svc = unit("tracer-health.service")["Service"]
    exe, *args = shlex.split(svc["ExecStart"])
    assert in_repo(exe) == ROOT / "scripts" / "health_check.sh" and os.access(exe, os.X_OK) and "--notify" in args
    assert svc["Type"] == "oneshot" and set(svc["SuccessExitStatus"].split()) == {"1", "2"}
    timer = unit("tracer-health.timer")
    assert timer["Timer"]["OnCalendar"] == "*:0/15" and timer["Timer"]["Unit"] == "tracer-health.service"
    assert (ROOT / "systemd" / timer["Timer"]["Unit"]).exists()


@pytest.mark.parametrize("name", ["com.tracer.fleet.plist", "com.tracer.healthcheck.plist"])
def test_launchd_plists(name):
    raw = (ROOT / "launchd" / name).read_text().replace(PLACEHOLDER, str(ROOT))
    plist = plistlib.loads(raw.encode())
    assert plist["Label"] == name.removesuffix(".plist")
    exe = in_repo(plist["ProgramArguments"][0])
    assert exe.exists() and os.access(exe, os.X_OK)
    assert in_repo(plist["WorkingDirectory"]) == ROOT
    for key in ("StandardOutPath", "StandardErrorPath"):
        assert in_repo(plist[key]).parent == ROOT / "logs"
    if name == "com.tracer.fleet.plist":
        assert plist["ProgramArguments"][1:] == ["--foreground"] and plist["KeepAlive"] is True
    else:
        assert plist["StartInterval"] == 900 and "--notify" in plist["ProgramArguments"]


def test_supervisord_template_programs():
    text = Template((ROOT / "config" / "supervisord.conf.template").read_text()).substitute(
        ROOT=ROOT, RUN_DIR="/tmp/run", LOG_DIR="/tmp/logs", PYTHON="/usr/bin/python3")
    conf = configparser.ConfigParser(interpolation=None)
    conf.read_string(text)
    programs = {s.split(":", 1)[1]: conf[s] for s in conf.sections() if s.startswith(("program:", "eventlistener:"))}
    assert set(programs) == {"hybrid", "futures", "watchdog", "notifier", "alerts"}
    for name, sec in programs.items():
        assert int(sec["startsecs"]) >= 3, name
        assert sec["autorestart"] == "true", name
        log_key = "stderr_logfile" if name == "alerts" else "stdout_logfile"
        assert sec[f"{log_key}_maxbytes"] and int(sec[f"{log_key}_backups"]) >= 1, f"{name} logs must rotate"
    assert conf["program:notifier"]["command"].endswith("-m shared.notify")
    assert conf["program:watchdog"]["command"].endswith("-m shared.health watchdog")
    listener = conf["eventlistener:alerts"]
    assert set(listener["events"].split(",")) == {"PROCESS_STATE_EXITED", "PROCESS_STATE_BACKOFF", "PROCESS_STATE_FATAL"}
    assert listener["stdout_logfile"] == "NONE", "stdout is the protocol channel"
    # the watchdog starts last and stops first; the listener and notifier the other way round
    prio = {n: int(s.get("priority", "999")) for n, s in programs.items()}
    assert prio["alerts"] < prio["notifier"] < prio["hybrid"] == prio["futures"] < prio["watchdog"]


def test_no_machine_specific_paths_in_tracked_files():
    for rel in OWNED:
        text = (ROOT / rel).read_text()
        machine_dirs = ["/" + d + "/" for d in ("work", "home", "Users")]  # built, so this file names none itself
        assert not any(d in text for d in machine_dirs), rel


@pytest.mark.parametrize("script", ["scripts/health_check.sh", "scripts/monitoring_status.sh", "scripts/install_cron.sh",
                                    "scripts/watchdog/watchdog_hybrid.sh", "scripts/watchdog/watchdog_futures.sh"])
def test_scripts_are_executable_bash(script):
    path = ROOT / script
    assert os.access(path, os.X_OK)
    assert subprocess.run(["bash", "-n", str(path)], capture_output=True).returncode == 0
