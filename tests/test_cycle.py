"""The shared agent cycle on real bundled data, with a hand-moved clock."""
from __future__ import annotations

from datetime import timedelta

import pytest

from agents.futures import SPEC as FUTURES
from agents.hybrid import SPEC as HYBRID
from shared.audit.db import connect
from shared.audit.log import AuditLog
from shared.audit.migrations import migrate
from shared.clock import ManualClock
from shared.config.profiles import load_profiles
from shared.config.settings import PROJECT_ROOT, Settings
from shared.cycle import AgentCycle, client_order_id
from shared.execution.models import OrderType
from shared.execution.portfolio_view import MarketData
from shared.execution.sim_broker import SimBroker
from shared.execution.sim_markets import sim_market
from shared.market.replay import ReplayFeed
from shared.market.universe import load_universe
from shared.risk.config import RiskConfig
from shared.risk.engine import RiskEngine
from shared.signals.engine import build_signal_engine


def build(spec, tmp_path, profile_name: str):
    settings = Settings()
    profile = load_profiles(PROJECT_ROOT / "config" / "profiles.yaml")[profile_name]
    uni = load_universe(PROJECT_ROOT / "config" / "universe.yaml", spec.name)
    feed = ReplayFeed.from_universe(uni, PROJECT_ROOT / "data")
    markets = {s: sim_market(s, spec.market) for s in feed.symbols}
    broker = SimBroker(feed, markets, 10_000, 2.0, tmp_path / f"{spec.name}.json", fsync=False)
    conn = connect(tmp_path / "db.sqlite")
    migrate(conn)
    clock = ManualClock(settings.sim_start)
    leverage = profile.leverage if spec.market == "futures" else 1
    engine = build_signal_engine(spec.market, profile, settings, universe=uni, feed=feed)
    risk = RiskEngine(RiskConfig(), profile, kill_switch_path=tmp_path / "KILL_SWITCH")  # never the checkout's file
    data = MarketData({s: feed for s in feed.symbols}, {s: sym.cluster for s, sym in uni.symbols.items()})
    cycle = AgentCycle(spec, profile, leverage, feed, broker, engine, AuditLog(conn, spec.name), clock, lookback=200,
                       risk=risk, market_data=data)
    return cycle, clock, conn, broker


@pytest.mark.parametrize("spec, profile, step", [(HYBRID, "momentum_standard", timedelta(minutes=5)),
                                                  (FUTURES, "momentum_aggressive", timedelta(hours=1))])
def test_cycles_record_every_symbol_and_trade(tmp_path, spec, profile, step):
    cycle, clock, conn, broker = build(spec, tmp_path, profile)
    n = 300
    for _ in range(n):
        cycle.run_once()
        clock.advance(step)
    per_symbol = conn.execute("SELECT symbol, count(*) FROM decisions GROUP BY symbol").fetchall()
    assert {r[0] for r in per_symbol} == set(cycle.feed.symbols)
    assert all(r[1] == n for r in per_symbol)  # every symbol, every cycle, WAIT included
    assert conn.execute("SELECT count(*) FROM decisions WHERE reason = ''").fetchone()[0] == 0
    actions = {r[0] for r in conn.execute("SELECT DISTINCT action FROM decisions")}
    assert {"WAIT", "CLOSE"} <= actions and ({"BUY", "SELL"} & actions)
    if spec.market == "spot":
        assert "SELL" not in actions  # long only
    # our position book agrees with the venue
    ours = {r["symbol"]: r["qty"] * (1 if r["side"] == "BUY" else -1) for r in cycle.audit.open_positions()}
    venue = {p.symbol: p.qty for p in broker.positions()}
    assert ours.keys() == venue.keys() and all(abs(ours[s] - venue[s]) < 1e-9 for s in ours)
    # every entry decision carries the risk engine's verdict with its numbers; every rejection names its rule
    import json

    for action, details in conn.execute("SELECT action, details FROM decisions WHERE details LIKE '%\"risk\"%'"):
        risk = json.loads(details)["risk"]
        assert risk["rule"] and risk["reason"] and isinstance(risk["numbers"], dict)
        assert (action in ("BUY", "SELL")) == (risk["rule"] == "entry")
    # every fill recorded once, every order id unique
    assert conn.execute("SELECT count(*) FROM fills").fetchone()[0] == len(broker.fills)
    realized = conn.execute("SELECT coalesce(sum(realized_pnl), 0) FROM fills").fetchone()[0]
    assert realized == pytest.approx(sum(f.realized_pnl for f in broker.fills))


def test_futures_positions_carry_a_venue_stop(tmp_path):
    cycle, clock, conn, broker = build(FUTURES, tmp_path, "momentum_aggressive")
    checked = 0
    for _ in range(300):
        cycle.run_once()
        clock.advance(timedelta(hours=1))
        for pos in broker.positions():
            stops = [o for o in broker.open_orders() if o.symbol == pos.symbol and o.reduce_only
                     and o.type is OrderType.STOP_MARKET]
            assert len(stops) == 1 and stops[0].qty == pytest.approx(abs(pos.qty))
            # the stop sits between the entry and the liquidation price
            lo, hi = sorted((pos.entry_price, pos.liquidation_price))
            assert lo < stops[0].stop_price < hi
            checked += 1
    assert checked > 0


def test_client_order_ids_are_deterministic_and_short():
    a = client_order_id("futures", "DOGE/USDT:USDT", 123456, "entry")
    assert a == client_order_id("futures", "DOGE/USDT:USDT", 123456, "entry")
    assert a != client_order_id("futures", "DOGE/USDT:USDT", 123457, "entry")
    assert len(a) <= 36 and all(ch.isalnum() or ch == "-" for ch in a)


def test_restarted_cycle_continues_numbering_and_never_reuses_ids(tmp_path):
    cycle, clock, conn, broker = build(HYBRID, tmp_path, "momentum_standard")
    for _ in range(150):
        cycle.run_once()
        clock.advance(timedelta(minutes=5))
    assert AuditLog(conn, "hybrid").last_cycle() == 150  # what a restarted agent continues from
    again, _, _, _ = build(HYBRID, tmp_path, "momentum_standard")
    again.cycle = AuditLog(conn, "hybrid").last_cycle()
    again.clock = clock
    for _ in range(150):
        again.run_once()
        clock.advance(timedelta(minutes=5))
    ids = [r[0] for r in conn.execute("SELECT client_order_id FROM orders")]
    assert len(ids) == len(set(ids)) and len(ids) >= 2
