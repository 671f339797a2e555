"""The audit database: forward migrations on an old file, and several processes writing at once."""
from __future__ import annotations

import multiprocessing as mp
import sqlite3

import pytest

from shared.audit.db import connect, transaction
from shared.audit.log import AuditLog, DecisionRow
from shared.audit.migrations import SchemaTooNew, all_migrations, migrate
from shared.clock import utc_now


def test_old_database_is_upgraded_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.db"
    conn = connect(path)
    assert migrate(conn, target=1) == 1
    conn.execute("INSERT INTO positions(agent, symbol, side, qty, entry_price, status, opened_ts, opened_market_ts,"
                 " updated_ts) VALUES ('futures','BTC/USDT:USDT','BUY',0.5,60000,'OPEN','t','t','t')")
    conn.execute("INSERT INTO events(ts, agent, kind, message) VALUES ('t','hybrid','start','old row')")
    assert "order_events" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()

    conn = connect(path)
    latest = all_migrations()[-1].version
    assert migrate(conn) == latest >= 2
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"order_events", "funding_payments"} <= tables
    row = conn.execute("SELECT qty, funding FROM positions").fetchone()
    assert row["qty"] == 0.5 and row["funding"] == 0  # the new column arrived with its default
    assert conn.execute("SELECT message FROM events").fetchone()[0] == "old row"
    assert migrate(conn) == latest  # running again is a no-op


def test_database_newer_than_the_code_is_refused(tmp_path):
    conn = connect(tmp_path / "new.db")
    conn.execute("PRAGMA user_version=999")
    with pytest.raises(SchemaTooNew):
        migrate(conn)


def test_wal_and_busy_timeout_are_set(tmp_path):
    conn = connect(tmp_path / "a.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 10_000


def _writer(path: str, agent: str, n: int, errors: "mp.Queue") -> None:
    try:
        conn = connect(path)
        migrate(conn)  # both racing to migrate a fresh file is part of the test
        log = AuditLog(conn, agent)
        for i in range(n):
            log.decisions(i, utc_now(), [DecisionRow(f"S{j}", "WAIT", "test") for j in range(4)])
            log.heartbeat(1, i, 0.001, utc_now(), None)
            # a read-then-write transaction: the pattern that fails with deferred transactions
            with transaction(conn):
                conn.execute("SELECT count(*) FROM decisions").fetchone()
                conn.execute("INSERT INTO events(ts, agent, kind, message) VALUES ('t', ?, 'x', 'y')", (agent,))
    except sqlite3.OperationalError as exc:  # "database is locked" would land here
        errors.put(f"{agent}: {exc}")


def test_two_processes_write_at_once_without_locking_errors(tmp_path):
    path = str(tmp_path / "shared.db")
    ctx = mp.get_context("spawn")
    errors = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(path, agent, 1000, errors)) for agent in ("hybrid", "futures", "watchdog")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    assert errors.empty(), errors.get()
    conn = connect(path)
    counts = dict(conn.execute("SELECT agent, count(*) FROM decisions GROUP BY agent").fetchall())
    assert counts == {"hybrid": 4000, "futures": 4000, "watchdog": 4000}
