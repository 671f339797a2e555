"""Supervision for real: a copy of the project runs under supervisord with the watchdog, the notifier and the event
listener; agents are killed, SIGSTOPped and broken, and alerts must reach the fake Telegram and Discord servers on
127.0.0.1. One fleet (and one venv) for the whole module, restored to health by each test before the next."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from shared.fleet.supervisor_client import rpc
from shared.notify.timefmt import parse_iso
from tests.fakes.fake_discord import FakeDiscord
from tests.fakes.fake_telegram import FakeTelegram
from tests.system_helpers import clean_env, copy_project, processes_of, query, run, wait_for

pytestmark = [pytest.mark.system, pytest.mark.xdist_group("fleet")]

CHAT_ID = "-1001234567890"
STALE_S = 10.0  # the derived default for TB_CYCLE_SECONDS=1: max(10 s, 10 x 1 s)
PROGRAMS = ("hybrid", "futures", "watchdog", "notifier", "alerts")


@dataclass
class Fleet:
    project: Path
    tg: FakeTelegram
    dc: FakeDiscord

    @property
    def db(self) -> Path:
        return self.project / "enhanced_trading.db"

    def rpc(self):  # type: ignore[no-untyped-def]
        return rpc(self.project / "run" / "supervisor.sock").supervisor

    def info(self, name: str) -> dict:
        return self.rpc().getProcessInfo(name)

    def all_running(self) -> bool:
        infos = {i["name"]: i["statename"] for i in self.rpc().getAllProcessInfo()}
        return all(infos.get(p) == "RUNNING" for p in PROGRAMS)

    def cycling(self, agent: str, pid: int | None = None) -> bool:
        """The agent's current process has completed a cycle in the last 3 s."""
        pid = pid or self.info(agent)["pid"]
        return bool(query(self.db, "SELECT 1 FROM heartbeats WHERE agent=? AND pid=? AND last_error IS NULL AND"
                                   " ts > strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-3 seconds')", agent, pid))

    def alert_everywhere(self, *needles: str) -> bool:
        return any(all(n in t for n in needles) for t in self.tg.texts()) and \
            any(all(n in c for n in needles) for c in self.dc.contents())

    def health(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.project / "scripts" / "health_check.sh"), *args], cwd="/", env=clean_env(),
                              capture_output=True, text=True, timeout=120)


def set_env(env_file: Path, values: dict[str, str]) -> None:
    lines = [ln for ln in env_file.read_text().splitlines() if ln.split("=", 1)[0] not in values]
    env_file.write_text("\n".join(lines + [f"{k}={v}" for k, v in values.items()]) + "\n")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    project = copy_project(tmp_path_factory.mktemp("supervision") / "tracer")
    tg, dc = FakeTelegram().start(), FakeDiscord().start()
    (project / ".env").write_text((project / ".env.example").read_text())
    set_env(project / ".env", {
        "TB_TELEGRAM_BOT_TOKEN": tg.token, "TB_TELEGRAM_CHAT_ID": CHAT_ID, "TB_TELEGRAM_API_BASE": tg.api_base,
        "TB_DISCORD_WEBHOOK_URL": dc.webhook_url, "TB_NOTIFY_DAILY_SUMMARY_HOUR": "-1",
        "TB_NOTIFY_POLL_INTERVAL_S": "0.5", "TB_WATCHDOG_INTERVAL_S": "1"})
    f = Fleet(project, tg, dc)
    started = run(project)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert wait_for(lambda: f.all_running() and f.cycling("hybrid") and f.cycling("futures"), timeout=60), \
            f.rpc().getAllProcessInfo()
        yield f
    finally:
        stopped = run(project, "stop")
        tg.stop()
        dc.stop()
        assert stopped.returncode == 0, stopped.stderr
        assert wait_for(lambda: not processes_of(project), timeout=20), [p.info for p in processes_of(project)]


def restored(f: Fleet, *agents: str) -> None:
    assert wait_for(lambda: f.all_running() and all(f.cycling(a) for a in agents), timeout=45), \
        f.rpc().getAllProcessInfo()


def test_kill_9_agent_is_restarted_by_supervisord_and_the_alert_reaches_both_channels(fleet: Fleet):
    old = fleet.info("hybrid")["pid"]
    os.kill(old, signal.SIGKILL)
    t0 = time.monotonic()
    assert wait_for(lambda: fleet.info("hybrid")["statename"] == "RUNNING" and fleet.info("hybrid")["pid"] != old,
                    timeout=20, interval=0.2)
    back = time.monotonic() - t0
    assert wait_for(lambda: fleet.alert_everywhere("hybrid", "exited unexpectedly"), timeout=20, interval=0.2), \
        (fleet.tg.texts(), fleet.dc.contents())
    assert back < 15, back
    assert query(fleet.db, "SELECT count(*) FROM events WHERE agent='hybrid' AND kind='process_exited'")[0][0] == 1
    assert all(CHAT_ID == m.chat_id for m in fleet.tg.sent)
    restored(fleet, "hybrid")


def test_sigstopped_agent_is_detected_restarted_and_alerted(fleet: Fleet):
    restored(fleet, "futures")
    old = fleet.info("futures")["pid"]
    os.kill(old, signal.SIGSTOP)
    t0 = time.time()
    try:
        assert wait_for(lambda: query(fleet.db, "SELECT ts FROM events WHERE agent='futures' AND kind='watchdog_restart'"),
                        timeout=2 * STALE_S + 5, interval=0.2)
    finally:
        if psutil.pid_exists(old):
            os.kill(old, signal.SIGCONT)
    [(ts,)] = query(fleet.db, "SELECT ts FROM events WHERE agent='futures' AND kind='watchdog_restart'")
    detected = parse_iso(ts).timestamp() - t0
    assert detected <= 2 * STALE_S, f"detected after {detected:.1f} s"
    assert wait_for(lambda: fleet.info("futures")["pid"] not in (0, old) and fleet.cycling("futures"), timeout=30)
    assert not psutil.pid_exists(old) or psutil.Process(old).status() == psutil.STATUS_ZOMBIE
    assert wait_for(lambda: fleet.alert_everywhere("futures restarted", "not ready"), timeout=20, interval=0.2)
    # the watchdog's stop is an expected stop: no "exited unexpectedly" alert on top of its own
    assert not query(fleet.db, "SELECT id FROM notify_outbox WHERE dedup_key='exited:futures'")
    data = json.loads(query(fleet.db, "SELECT data FROM events WHERE kind='watchdog_restart'")[0][0])
    assert data["problems"] == ["heartbeat_stale"] and data["restarts_in_window"] == 1


def test_agent_crashing_at_start_goes_fatal_with_exactly_one_critical_alert(fleet: Fleet):
    restored(fleet, "hybrid")
    main = fleet.project / "agents" / "hybrid" / "__main__.py"
    original = main.read_text()
    main.write_text('raise SystemExit("hybrid cannot start: simulated crash at start")\n')
    try:
        fleet.rpc().stopProcess("hybrid", True)
        fleet.rpc().startProcess("hybrid", False)
        assert wait_for(lambda: fleet.info("hybrid")["statename"] == "FATAL", timeout=60, interval=0.5)
        assert wait_for(lambda: fleet.alert_everywhere("hybrid FAILED"), timeout=20, interval=0.2)
        time.sleep(3)  # the watchdog has seen FATAL too by now; its alert must fold into the listener's
    finally:
        main.write_text(original)
    crit = query(fleet.db, "SELECT kind, count FROM notify_outbox WHERE agent='hybrid' AND severity='critical'")
    assert len(crit) == 1 and crit[0][0] == "agent_failed", crit
    assert sum("hybrid FAILED" in t for t in fleet.tg.texts()) == 1
    assert sum("hybrid FAILED" in c for c in fleet.dc.contents()) == 1
    assert query(fleet.db, "SELECT count(*) FROM events WHERE agent='hybrid' AND kind='process_backoff'")[0][0] >= 1
    assert "simulated crash at start" in [t for t in fleet.tg.texts() if "hybrid FAILED" in t][0]


def test_health_check_reports_a_stopped_agent_critical_and_fix_brings_it_back(fleet: Fleet):
    fleet.rpc().stopProcess("futures", True)
    checked = fleet.health("--json")
    assert checked.returncode == 2, checked.stdout + checked.stderr
    report = json.loads(checked.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert report["status"] == "critical" and checks["agent futures"]["status"] == "critical"
    assert "STOPPED" in checks["agent futures"]["detail"]
    assert checks["supervisord"]["status"] == "ok" and checks["database"]["status"] == "ok"

    fixed = fleet.health("--fix")
    assert "started futures (was STOPPED)" in fixed.stdout, fixed.stdout + fixed.stderr
    assert fixed.returncode in (0, 1), fixed.stdout
    restored(fleet, "hybrid", "futures")
    after = json.loads(fleet.health("--json").stdout)
    agents = {c["name"]: c["status"] for c in after["checks"] if c["name"].startswith("agent ")}
    assert agents == {"agent hybrid": "ok", "agent futures": "ok"}, after
    assert query(fleet.db, "SELECT count(*) FROM events WHERE kind='health_fix'")[0][0] >= 1


def test_fix_restarts_the_fleet_after_supervisord_died_without_duplicating_agents(fleet: Fleet):
    restored(fleet, "hybrid", "futures")
    supervisord = int((fleet.project / "run" / "supervisord.pid").read_text())
    os.kill(supervisord, signal.SIGKILL)  # its programs live on, orphaned
    assert wait_for(lambda: not psutil.pid_exists(supervisord) or
                    psutil.Process(supervisord).status() == psutil.STATUS_ZOMBIE, timeout=10)
    checked = fleet.health("--json")
    assert checked.returncode == 2 and json.loads(checked.stdout)["checks"][0]["status"] == "critical"

    fixed = fleet.health("--fix")
    assert "started the fleet (supervisord was not running)" in fixed.stdout, fixed.stdout + fixed.stderr
    restored(fleet, "hybrid", "futures")

    def agents_running(name: str) -> int:
        return sum(1 for p in processes_of(fleet.project) if f"-m agents.{name}" in " ".join(p.info["cmdline"] or []))

    assert agents_running("hybrid") == 1 and agents_running("futures") == 1
