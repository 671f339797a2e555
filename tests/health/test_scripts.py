"""health_check.sh and monitoring_status.sh as an operator runs them: from any directory, with the project's venv,
against a fleet that is not running (a database with some history, no supervisord)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from shared.audit.db import transaction
from shared.clock import iso, utc_now
from shared.notify import enqueue_alert

from .helpers import database, beat

ROOT = Path(__file__).resolve().parents[2]


def env_for(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TB_", "PYTEST_", "VIRTUAL_ENV"))}
    env.update({"TB_DB_PATH": str(tmp_path / "t.db"), "TB_RUN_DIR": str(tmp_path / "run"),
                "TB_LOG_DIR": str(tmp_path / "logs"), "TB_VENV_DIR": sys.prefix, "COLUMNS": "160"})
    return env


def history(tmp_path: Path) -> None:
    conn = database(tmp_path / "t.db")
    now = utc_now()
    beat(conn, "hybrid", 4242, now, cycle=77, market=now)
    with transaction(conn):
        conn.execute("INSERT INTO positions(agent, symbol, side, qty, entry_price, leverage, margin, status, opened_ts,"
                     " opened_market_ts, updated_ts) VALUES ('futures','ETH/USDT:USDT','SELL',2.5,2484.5,5,1242.0,'OPEN',"
                     "?,?,?)", (iso(now), iso(now), iso(now)))
        conn.execute("INSERT INTO equity_snapshots(ts, market_ts, agent, equity, cash, unrealized_pnl, open_positions)"
                     " VALUES (?,?,?,?,?,?,?)", (iso(now), iso(now), "futures", 10000.0, 8758.0, 0.0, 1))
        conn.execute("INSERT INTO equity_snapshots(ts, market_ts, agent, equity, cash, unrealized_pnl, open_positions)"
                     " VALUES (?,?,?,?,?,?,?)", (iso(now), iso(now), "futures", 10123.45, 8758.0, 123.45, 1))
        conn.execute("INSERT INTO decisions(ts, market_ts, agent, cycle, symbol, action, price, reason) VALUES"
                     " (?,?,?,?,?,?,?,?)", (iso(now), iso(now), "futures", 5, "ETH/USDT:USDT", "SELL", 2484.5,
                                            "mean reversion above the upper band"))
    enqueue_alert(conn, "critical", "agent_failed", "hybrid FAILED and will not be restarted", "details", agent="hybrid")
    conn.close()


def test_health_check_json_from_another_directory_reports_critical(tmp_path):
    history(tmp_path)
    elsewhere = tmp_path / "somewhere"
    elsewhere.mkdir()
    proc = subprocess.run([str(ROOT / "scripts" / "health_check.sh"), "--json"], cwd=elsewhere, env=env_for(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    report = json.loads(proc.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert report["status"] == "critical" and checks["supervisord"]["status"] == "critical"
    assert checks["agent hybrid"]["data"]["last_ok_cycle"] == 77
    assert checks["database"]["status"] == "ok" and checks["alerts outbox"]["data"]["unrouted"] == 1
    brief = subprocess.run([str(ROOT / "scripts" / "health_check.sh"), "--brief"], cwd=elsewhere, env=env_for(tmp_path),
                           capture_output=True, text=True, timeout=120)
    assert brief.returncode == 2 and len(brief.stdout.strip().splitlines()) == 1 and "critical" in brief.stdout


def test_monitoring_status_once_prints_one_frame(tmp_path):
    history(tmp_path)
    proc = subprocess.run([str(ROOT / "scripts" / "monitoring_status.sh"), "--once"], cwd=tmp_path,
                          env=env_for(tmp_path), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for text in ("supervisord NOT running", "hybrid", "futures", "#77", "ETH/USDT:USDT", "+123.45",
                 "mean reversion above the upper band", "hybrid FAILED", "recent alerts"):
        assert text in out, text


def test_watchdog_wrapper_once_without_supervisord(tmp_path):
    history(tmp_path)
    proc = subprocess.run([str(ROOT / "scripts" / "watchdog" / "watchdog_hybrid.sh")], cwd=tmp_path,
                          env=env_for(tmp_path), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout.startswith("hybrid: critical down") and "futures" not in proc.stdout
