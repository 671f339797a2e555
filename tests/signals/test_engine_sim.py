"""Both agents as the fleet builds them (shared.runner.build_cycle), on the bundled data from TB_SIM_START, with a
hand-moved clock at the fleet's own pace: TB_SIM_SPEED x TB_CYCLE_SECONDS market seconds per cycle.

Three market days are 144 cycles at the defaults (30 market minutes a second): under three minutes of a
running fleet. In that span each agent must trade more than one strategy, and every decision row — WAIT
included — must carry the market state, the scores and a reason.
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from agents.futures import SPEC as FUTURES
from agents.hybrid import SPEC as HYBRID
from shared.clock import ManualClock
from shared.runner import build_cycle, load_agent_config

MARKET_DAYS = 3


@pytest.fixture(scope="module")
def fleet_rows(tmp_path_factory):
    """agent -> (AgentConfig, decision rows as (action, reason, details)), each agent run once for the module."""
    out = {}
    for spec in (HYBRID, FUTURES):
        tmp = tmp_path_factory.mktemp(spec.name)
        with pytest.MonkeyPatch.context() as mp:
            for key, value in {"TB_DB_PATH": tmp / "t.db", "TB_RUN_DIR": tmp / "run", "TB_LOG_DIR": tmp / "logs",
                               "TB_SIM_START": "2025-03-01T00:00:00Z", "TB_HYBRID_PROFILE": "momentum_standard",
                               "TB_FUTURES_PROFILE": "momentum_aggressive", "TB_MIN_SIGNAL_QUALITY": "5",
                               "TB_MIN_CONVICTION_SCORE": "5"}.items():
                mp.setenv(key, str(value))
            out[spec.name] = run_fleet_agent(spec)
    return out


def run_fleet_agent(spec):
    cfg = load_agent_config(spec)
    cycle = build_cycle(spec, cfg)
    cycle.clock = ManualClock(cfg.settings.sim_start)
    step = timedelta(seconds=cfg.settings.sim_clock_rate * cfg.settings.cycle_seconds)
    for _ in range(int(timedelta(days=MARKET_DAYS) / step)):
        cycle.run_once()
        cycle.clock.advance(step)
    rows = cycle.audit.conn.execute("SELECT action, reason, details FROM decisions WHERE agent = ?",
                                    (spec.name,)).fetchall()
    return cfg, [(a, r, json.loads(d or "{}")) for a, r, d in rows]


@pytest.mark.parametrize("spec", [HYBRID, FUTURES], ids=["hybrid", "futures"])
def test_each_agent_trades_more_than_one_strategy(fleet_rows, spec):
    cfg, rows = fleet_rows[spec.name]
    traded = {name for action, _, d in rows if action in ("BUY", "SELL")
              for name in (d.get("strategy") or "").split("+") if name}
    assert len(traded) >= 2, (cfg.profile.name, traded)
    assert traded <= set(cfg.profile.strategies)
    if spec.market == "spot":
        assert all(action != "SELL" for action, _, _ in rows)  # long only


@pytest.mark.parametrize("spec", [HYBRID, FUTURES], ids=["hybrid", "futures"])
def test_decision_rows_carry_state_scores_and_reasons(fleet_rows, spec):
    _, rows = fleet_rows[spec.name]
    assert rows and any(action == "WAIT" for action, _, _ in rows)
    for action, reason, d in rows:
        assert reason, action
        for key in ("regime", "regime_confidence", "volatility", "quality", "conviction", "state", "scores",
                    "strategies", "sentiment", "aggregation", "scan"):
            assert key in d, (action, key, reason)
        assert d["regime"] in ("BULL_TREND", "BEAR_TREND", "SIDEWAYS_LOW_VOL", "SIDEWAYS_HIGH_VOL", "TRANSITION")
        assert 0 <= d["quality"] <= 10 and 0 <= d["conviction"] <= 10
        assert set(d["scores"]["quality"]) == {"momentum", "volume", "rsi", "sentiment"}
        assert set(d["state"]["timeframe_trends"]) <= {"1h", "4h", "1d"}
        if action in ("BUY", "SELL"):
            assert d["strategy"] and d["scores"]["passed"]
