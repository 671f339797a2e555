"""Crash recovery for real: the fleet runs from a copy of the project under supervisord; the futures agent is killed
with SIGKILL (once by a fault point in the middle of order submission, once from outside while it holds positions
with venue stops), the market moves on while it is down, supervisord starts it again, and afterwards the database
matches the sim venue's own state file: every fill once, every order with the venue's status, no order doubled,
every open futures position with exactly one reduce-only stop."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import psutil
import pytest
import yaml

from shared.clock import iso
from shared.fleet.supervisor_client import process_info, rpc
from shared.market.datafiles import load_candles
from tests.system_helpers import clean_env, copy_project, query, run, wait_for

pytestmark = [pytest.mark.system, pytest.mark.xdist_group("fleet")]

FLEET_ENV = dict(
    TB_SIM_SPEED="30",  # 2.5 market hours a second: the futures agent (1h candles) trades within seconds
    TB_MIN_SIGNAL_QUALITY="0", TB_MIN_CONVICTION_SCORE="0",  # let the real strategies trade often
    # a test about recovery, not about limits: keep the agents trading (2.5 market hours pass every second)
    TB_MAX_TRADES_PER_DAY="1000", TB_MAX_TRADES_PER_HOUR="1000", TB_LOSS_STREAK="100",
    TB_DAILY_LOSS_LIMIT_PCT="90", TB_MAX_DRAWDOWN_PCT="90", TB_FLEET_DAILY_LOSS_LIMIT_PCT="90",
    TB_FLEET_MAX_DRAWDOWN_PCT="90",
    TRACER_FAULT_CRASH_AT="after_submit", TRACER_FAULT_AGENT="futures", TRACER_FAULT_INTENT="entry",
)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("recovery") / "tracer")
    started = run(project, env=clean_env(**FLEET_ENV))
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        yield project
    finally:
        run(project, "stop")


# -- reading the fleet's state ------------------------------------------------------------------------------
def venue(project: Path) -> dict:
    return json.loads((project / "run" / "sim_venue_futures.json").read_text())


def db(project: Path) -> Path:
    return project / "enhanced_trading.db"


def futures_pid(project: Path) -> int | None:
    info = {p["name"]: p for p in process_info(project / "run" / "supervisor.sock")}.get("futures")
    return info["pid"] if info and info["statename"] == "RUNNING" and info["pid"] else None


def recoveries(project: Path) -> list[tuple]:
    return query(db(project), "SELECT id, ts, data FROM events WHERE agent='futures' AND kind='recovery' ORDER BY id")


def heartbeats_after(project: Path, event_id_ts: str) -> int:
    return query(db(project), "SELECT count(*) FROM heartbeats WHERE agent='futures' AND ts > ? AND last_error IS NULL",
                 event_id_ts)[0][0]


def stop_futures(project: Path) -> None:
    rpc(project / "run" / "supervisor.sock", timeout=30).supervisor.stopProcess("futures", True)


def start_futures(project: Path) -> None:
    rpc(project / "run" / "supervisor.sock", timeout=30).supervisor.startProcess("futures", True)


def working_stops(v: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for o in v["orders"].values():
        if o["type"] == "STOP_MARKET" and o["reduce_only"] and o["status"] in ("SUBMITTED", "PARTIALLY_FILLED"):
            out.setdefault(o["symbol"], []).append(o)
    return out


def assert_database_matches_venue(project: Path) -> None:
    """Run while the futures agent is stopped (nothing moves)."""
    v = venue(project)
    conn = sqlite3.connect(f"file:{db(project)}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        ours = {r["symbol"]: r["qty"] * (1 if r["side"] == "BUY" else -1) for r in conn.execute(
            "SELECT * FROM positions WHERE agent='futures' AND status='OPEN'")}
        held = {s: h["qty"] for s, h in v["holdings"].items() if abs(h["qty"]) > 1e-12}
        assert ours.keys() == held.keys() and all(abs(ours[s] - held[s]) < 1e-9 for s in ours), (ours, held)
        fills = [r[0] for r in conn.execute("SELECT fill_id FROM fills WHERE agent='futures'")]
        assert sorted(fills) == sorted(f["fill_id"] for f in v["fills"])  # every venue fill recorded exactly once
        book = {r["client_order_id"]: r["status"] for r in conn.execute("SELECT * FROM orders WHERE agent='futures'")}
        for cid, o in v["orders"].items():
            assert book.get(cid) == o["status"], (cid, o["status"], book.get(cid))
        unknown = [cid for cid, st in book.items() if cid not in v["orders"] and st != "EXPIRED"]
        assert unknown == [], unknown  # the book has no working order the venue does not know
    finally:
        conn.close()
    stops = working_stops(v)
    for sym, qty in held.items():  # every open futures position carries exactly one reduce-only stop of its size
        assert len(stops.get(sym, [])) == 1, (sym, stops.get(sym))
        stop = stops[sym][0]
        assert abs(stop["qty"] - abs(qty)) < 1e-9 and stop["side"] == ("SELL" if qty > 0 else "BUY")
    assert_no_doubled_entry(v)


def assert_no_doubled_entry(v: dict) -> None:
    """Walk the venue's fills: an entry order never fills while a position of the same symbol is already open."""
    qty: dict[str, float] = {}
    for f in sorted(v["fills"], key=lambda f: (f["ts"], int(f["fill_id"].rsplit("-", 1)[-1]))):
        sym, signed = f["symbol"], f["qty"] * (1 if f["side"] == "BUY" else -1)
        if f["client_order_id"].endswith("-entry"):
            assert abs(qty.get(sym, 0.0)) < 1e-12, f"second entry {f['client_order_id']} into an open {sym} position"
        qty[sym] = round(qty.get(sym, 0.0) + signed, 9)


# -- the tests ----------------------------------------------------------------------------------------------
def test_kill_9_in_the_middle_of_order_submission_leaves_no_duplicate_order(fleet):
    project = fleet
    marker = project / "run" / "fault-after_submit-futures.fired"
    assert wait_for(marker.exists, timeout=60, interval=0.2), "the futures agent never submitted an entry"
    point, intent, cid, pid = marker.read_text().split()
    assert (point, intent) == ("after_submit", "entry")
    def dead() -> bool:  # the marker is written just before the SIGKILL: give the kill a moment to land
        try:
            return psutil.Process(int(pid)).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    assert wait_for(dead, timeout=10, interval=0.05), "the agent should have killed itself at the crash point"
    crashed_at = iso(datetime.fromtimestamp(marker.stat().st_mtime, tz=timezone.utc))  # the DB's timestamp format
    # supervisord starts it again; the restarted agent recovers and keeps cycling
    assert wait_for(lambda: [r for r in recoveries(project) if r[1] > crashed_at], timeout=30, interval=0.3)
    rec = [r for r in recoveries(project) if r[1] > crashed_at][0]
    assert wait_for(lambda: heartbeats_after(project, rec[1]) >= 2, timeout=30, interval=0.3)
    stop_futures(project)
    try:
        status = query(db(project), "SELECT status FROM orders WHERE client_order_id=?", cid)[0][0]
        assert status == venue(project)["orders"][cid]["status"]  # the NEW row learned what the venue did
        history = [r[0] for r in query(db(project), "SELECT status FROM order_events WHERE client_order_id=? ORDER BY id",
                                       cid)]
        assert history[:2] == ["NEW", "SUBMITTED"] and history[-1] == status
        applied = json.loads(rec[2])["reconcile"].get("applied_orders", [])
        assert any(a.startswith(cid) for a in applied), applied
        symbol = venue(project)["orders"][cid]["symbol"]
        cycle = int(cid.rsplit("-", 2)[-2])
        entries = [c for c, o in venue(project)["orders"].items() if o["symbol"] == symbol and c.endswith("-entry")
                   and int(c.rsplit("-", 2)[-2]) in (cycle, cycle + 1)]
        assert entries == [cid]  # the restarted agent did not place the same entry again
        assert_database_matches_venue(project)
    finally:
        start_futures(project)


def _first_trigger(project: Path, stop: dict, after: float, horizon_days: int = 40) -> float | None:
    """Close time of the first candle after `after` whose range reaches the stop (from the bundled data)."""
    uni = yaml.safe_load((project / "config" / "universe.yaml").read_text())["futures"]
    c = load_candles(project / "data" / uni["symbols"][stop["symbol"]]["data"], stop["symbol"], uni["timeframe"])
    lo = int(np.searchsorted(c.open_time, after, side="left"))
    hi = int(np.searchsorted(c.open_time, after + horizon_days * 86400, side="left"))
    for i in range(lo, hi):
        if (stop["side"] == "SELL" and c.low[i] <= stop["stop_price"]) or (
                stop["side"] == "BUY" and c.high[i] >= stop["stop_price"]):
            return float(c.open_time[i] + c.seconds)
    return None


def _freeze_and_move_clock(project: Path) -> tuple[dict, int, str] | None:
    """Freeze the futures agent (SIGSTOP) while it holds a position with a working venue stop, move the shared sim
    clock past the first candle that reaches one of its stops, then SIGKILL it. None: not the right moment."""
    pid = futures_pid(project)
    if pid is None:
        return None
    os.kill(pid, signal.SIGSTOP)
    try:
        v = venue(project)
        stops = [s[0] for sym, s in working_stops(v).items() if sym in v["holdings"]]
        triggers = [(t, s) for s in stops if (t := _first_trigger(project, s, v["processed_until"])) is not None]
        if not triggers:
            return None
        target, stop = min(triggers, key=lambda x: x[0])
        conn = sqlite3.connect(db(project), timeout=0.5)
        try:
            row = conn.execute("SELECT sim_start, wall_epoch, rate FROM sim_clock WHERE id=1").fetchone()
            now = datetime.fromisoformat(row[0].replace("Z", "+00:00")).timestamp() + (time.time() - row[1]) * row[2]
            start = max(target + 60, now)
            conn.execute("UPDATE sim_clock SET sim_start=?, wall_epoch=? WHERE id=1",
                         (datetime.fromtimestamp(start, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z"), time.time()))
            conn.commit()
        except sqlite3.OperationalError:  # frozen inside a write transaction: let it go and try again later
            return None
        finally:
            conn.close()
        killed_at = iso(datetime.now(timezone.utc))
        os.kill(pid, signal.SIGKILL)  # kill -9 while frozen: it never sees the new market time
        return stop, pid, killed_at
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass


def test_kill_9_with_open_stops_and_a_stop_filling_while_down(fleet):
    project = fleet
    assert wait_for(lambda: futures_pid(project) and len(recoveries(project)) >= 1, timeout=60)
    deadline = time.monotonic() + 60
    done, tries = None, 0
    while done is None and time.monotonic() < deadline:
        v = venue(project) if (project / "run" / "sim_venue_futures.json").exists() else {"holdings": {}, "orders": {}}
        if any(sym in v["holdings"] for sym in working_stops(v)):
            tries += 1
            done = _freeze_and_move_clock(project)
        if done is None:
            time.sleep(0.1)
    assert done is not None, (f"no futures position with a venue stop to test within 60 s ({tries} tries); "
                              f"states {query(db(project), 'SELECT * FROM risk_states')}; last decisions "
                              f"{query(db(project), 'SELECT action, reason FROM decisions WHERE agent=? ORDER BY id DESC LIMIT 6', 'futures')}")
    stop, pid, killed_at = done
    assert wait_for(lambda: [r for r in recoveries(project) if r[1] > killed_at], timeout=30, interval=0.3)
    rec = [r for r in recoveries(project) if r[1] > killed_at][0]
    assert json.loads(rec[2])["reconcile"]["fills_applied"] >= 1
    assert wait_for(lambda: heartbeats_after(project, rec[1]) >= 2, timeout=30, interval=0.3)
    stop_futures(project)
    try:
        cid = stop["client_order_id"]
        assert venue(project)["orders"][cid]["status"] == "FILLED"
        fills = query(db(project), "SELECT ts, market_ts FROM fills WHERE client_order_id=?", cid)
        assert len(fills) == 1 and fills[0][0] > killed_at  # recorded once, by the restarted agent
        pos = query(db(project), "SELECT status, close_reason FROM positions WHERE agent='futures' AND symbol=?"
                                 " AND closed_market_ts=?", stop["symbol"], fills[0][1])
        assert len(pos) == 1 and pos[0][0] == "CLOSED" and pos[0][1] == f"stop loss (venue stop at {stop['stop_price']:.8g})"
        assert_database_matches_venue(project)
    finally:
        start_futures(project)
