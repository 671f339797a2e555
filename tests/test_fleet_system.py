"""The fleet from one command, for real: bootstrap, supervisord, both agents trading, status, stop."""
from __future__ import annotations

import pytest

from tests.system_helpers import clean_env, copy_project, processes_of, query, run, wait_for

pytestmark = [pytest.mark.system, pytest.mark.xdist_group("fleet")]


def test_fresh_copy_starts_trades_reports_and_stops_clean(tmp_path):
    project = copy_project(tmp_path / "tracer")
    db = project / "enhanced_trading.db"

    bad = run(project, env=clean_env(TB_MODE="foo"))
    assert bad.returncode == 2
    assert [line for line in bad.stderr.splitlines() if "TB_MODE" in line] == [bad.stderr.strip().splitlines()[-1]]
    assert not db.exists() and not (project / "run" / "supervisord.pid").exists()  # nothing started

    started = run(project)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert (project / ".env").exists() and "TB_MODE=sim" in (project / ".env").read_text()
        agents = wait_for(lambda: {r[0] for r in query(db, "SELECT DISTINCT agent FROM heartbeats")} >= {"hybrid", "futures"}
                          and {r[0] for r in query(db, "SELECT DISTINCT agent FROM decisions")} >= {"hybrid", "futures"},
                          timeout=60)
        assert agents, "both agents should have heartbeats and decisions within 60 s"

        pid_before = (project / "run" / "supervisord.pid").read_text().strip()
        again = run(project)
        assert again.returncode == 0 and "already running" in again.stdout
        assert (project / "run" / "supervisord.pid").read_text().strip() == pid_before

        status = run(project, "status")
        assert status.returncode == 0, status.stderr
        for name in ("hybrid", "futures"):
            line = next(line for line in status.stdout.splitlines() if f" {name} " in line)
            assert "RUNNING" in line
        assert "enhanced_trading.db" in status.stdout.replace("\n", "")
        wal = query(db, "PRAGMA journal_mode")
        assert wal and wal[0][0] == "wal"
    finally:
        stopped = run(project, "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert wait_for(lambda: not processes_of(project), timeout=15), [p.info for p in processes_of(project)]
    kinds = {(r[0], r[1]) for r in query(db, "SELECT agent, kind FROM events")}
    assert {("hybrid", "start"), ("hybrid", "stop"), ("futures", "start"), ("futures", "stop")} <= kinds
    assert run(project, "status").returncode == 3
