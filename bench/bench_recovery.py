"""Benchmark: how fast the fleet recovers and tells the operator, with real processes.

Run:  .venv/bin/python bench/bench_recovery.py [--runs 5]

A copy of the project (its own .venv, built on the first start) runs the whole fleet under supervisord with the
notifier pointed at the fake Telegram and Discord servers on 127.0.0.1 (tests/fakes). Each run starts the fleet on a
fresh database (so alert dedup from the previous run cannot fold the new alerts), then:

  kill -9 hybrid   -> supervisord restarts it            measured: until RUNNING again (new pid; startsecs=3 is part
                                                          of it), until the new process's first successful cycle, and
                                                          until the alert reached BOTH fakes
  kill -STOP futures -> the watchdog detects and restarts measured: until the watchdog's restart (event time), until
                                                          RUNNING again, and until the alert reached BOTH fakes

Defaults as shipped: TB_CYCLE_SECONDS=1 (hung after 10 s without a successful cycle), watchdog check every
TB_WATCHDOG_INTERVAL_S (1 s here, 2 s by default), notifier poll 0.5 s. Reported: median, min and max over the runs.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.fleet.supervisor_client import rpc  # noqa: E402
from shared.notify.timefmt import parse_iso  # noqa: E402
from tests.fakes.fake_discord import FakeDiscord  # noqa: E402
from tests.fakes.fake_telegram import FakeTelegram  # noqa: E402
from tests.system_helpers import copy_project, query, run, wait_for  # noqa: E402


def wait(predicate, timeout: float, interval: float = 0.02):  # type: ignore[no-untyped-def]
    value = wait_for(predicate, timeout, interval)
    if not value:
        raise TimeoutError(f"gave up after {timeout} s")
    return value


class Bench:
    def __init__(self, project: Path, tg: FakeTelegram, dc: FakeDiscord) -> None:
        self.project, self.tg, self.dc = project, tg, dc
        self.db = project / "enhanced_trading.db"

    def sup(self):  # type: ignore[no-untyped-def]
        return rpc(self.project / "run" / "supervisor.sock").supervisor

    def info(self, name: str) -> dict:
        return self.sup().getProcessInfo(name)

    def first_ok_cycle(self, agent: str, pid: int) -> float | None:
        rows = query(self.db, "SELECT min(ts) FROM heartbeats WHERE agent=? AND pid=? AND last_error IS NULL", agent, pid)
        return parse_iso(rows[0][0]).timestamp() if rows and rows[0][0] else None

    def delivered_both(self, needle: str, since: float) -> float | None:
        """Wall time the alert reached the later of the two fakes."""
        tg = [m.ts for m in list(self.tg.sent) if needle in m.text and m.ts >= since]
        dc = [m.ts for m in list(self.dc.messages) if needle in m.content and m.ts >= since]
        return max(min(tg), min(dc)) if tg and dc else None

    def fresh_fleet(self) -> None:
        run(self.project, "stop")
        for p in [self.db, Path(f"{self.db}-wal"), Path(f"{self.db}-shm")]:
            p.unlink(missing_ok=True)
        shutil.rmtree(self.project / "run", ignore_errors=True)
        started = run(self.project)
        if started.returncode != 0:
            raise RuntimeError(started.stdout + started.stderr)
        wait(lambda: all(i["statename"] == "RUNNING" for i in self.sup().getAllProcessInfo()), 60, 0.2)
        for agent in ("hybrid", "futures"):
            wait(lambda a=agent: self.first_ok_cycle(a, self.info(a)["pid"]), 60, 0.2)
        time.sleep(2)

    def kill9(self) -> dict[str, float]:
        old = self.info("hybrid")["pid"]
        t0 = time.time()
        os.kill(old, signal.SIGKILL)
        running = wait(lambda: time.time() if self.info("hybrid")["statename"] == "RUNNING"
                       and self.info("hybrid")["pid"] != old else None, 30)
        new = self.info("hybrid")["pid"]
        cycle = wait(lambda: self.first_ok_cycle("hybrid", new), 30)
        alert = wait(lambda: self.delivered_both("hybrid exited unexpectedly", t0), 30)
        return {"kill -9 -> RUNNING": running - t0, "kill -9 -> first cycle": cycle - t0,
                "kill -9 -> alert at both fakes": alert - t0}

    def sigstop(self) -> dict[str, float]:
        old = self.info("futures")["pid"]
        t0 = time.time()
        os.kill(old, signal.SIGSTOP)
        restart_ts = wait(lambda: query(self.db, "SELECT ts FROM events WHERE agent='futures' AND kind='watchdog_restart'"),
                          60, 0.1)[0][0]
        running = wait(lambda: time.time() if self.info("futures")["statename"] == "RUNNING"
                       and self.info("futures")["pid"] not in (0, old) else None, 30)
        alert = wait(lambda: self.delivered_both("futures restarted", t0), 30)
        return {"SIGSTOP -> watchdog restart": parse_iso(restart_ts).timestamp() - t0,
                "SIGSTOP -> RUNNING again": running - t0, "SIGSTOP -> alert at both fakes": alert - t0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy (its logs) afterwards")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tracer-bench-"))
    project = copy_project(tmp / "tracer")
    tg, dc = FakeTelegram().start(), FakeDiscord().start()
    values = {"TB_TELEGRAM_BOT_TOKEN": tg.token, "TB_TELEGRAM_CHAT_ID": "-1001234567890",
              "TB_TELEGRAM_API_BASE": tg.api_base, "TB_DISCORD_WEBHOOK_URL": dc.webhook_url,
              "TB_NOTIFY_DAILY_SUMMARY_HOUR": "-1", "TB_NOTIFY_POLL_INTERVAL_S": "0.5", "TB_WATCHDOG_INTERVAL_S": "1"}
    lines = [ln for ln in (project / ".env.example").read_text().splitlines() if ln.split("=", 1)[0] not in values]
    (project / ".env").write_text("\n".join(lines + [f"{k}={v}" for k, v in values.items()]) + "\n")
    bench = Bench(project, tg, dc)
    results: dict[str, list[float]] = {}
    print(f"copy: {project} (first start builds its .venv)", flush=True)
    try:
        for i in range(args.runs):
            bench.fresh_fleet()
            got = {**bench.kill9(), **bench.sigstop()}
            for k, v in got.items():
                results.setdefault(k, []).append(v)
            print(f"run {i + 1}/{args.runs}: " + ", ".join(f"{k} {v:.2f}s" for k, v in got.items()), flush=True)
    finally:
        run(project, "stop")
        tg.stop()
        dc.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{'metric':34} {'median':>8} {'min':>8} {'max':>8}   (seconds, {args.runs} runs)")
    for k, v in results.items():
        print(f"{k:34} {statistics.median(v):8.2f} {min(v):8.2f} {max(v):8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
