"""A small real fleet for integration tests: the real AgentCycle, SimBroker (state on disk), SQLite, RiskEngine, on
hand-made candles, with a scripted signal engine (what the strategy says is the test's input, not what it tests)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np

from shared.audit.db import connect
from shared.audit.log import AuditLog
from shared.audit.migrations import migrate
from shared.clock import ManualClock
from shared.config.profiles import ExecutionParams, ExitParams, Profile, RiskParams
from shared.cycle import AgentCycle, AgentSpec
from shared.execution.faults import FaultInjector
from shared.execution.models import MarketInfo
from shared.execution.portfolio_view import MarketData
from shared.execution.sim_broker import SimBroker
from shared.market.replay import ReplayFeed
from shared.risk.config import RiskConfig
from shared.risk.engine import RiskEngine
from shared.signals.base import Action, Evaluation, SymbolContext
from tests.helpers import T0, at, candles

H = 3600
FUT = AgentSpec("futures", "futures", True, "TB_FUTURES_PROFILE")
SPOT = AgentSpec("hybrid", "spot", False, "TB_HYBRID_PROFILE")


def perp(symbol: str) -> MarketInfo:
    return MarketInfo(symbol, "futures", symbol[0], "USDT", lot_step=0.001, tick_size=0.01, min_notional=5.0,
                      max_leverage=20, maintenance_margin_rate=0.005, taker_fee=0.0005, maker_fee=0.0002,
                      exchange_stops=True)


def spot(symbol: str) -> MarketInfo:
    return MarketInfo(symbol, "spot", symbol[0], "USD", lot_step=0.001, tick_size=0.01, min_notional=1.0,
                      taker_fee=0.001, maker_fee=0.0005)


def walk(n: int, start: float = 100.0, seed: int = 1, vol: float = 0.004) -> list[tuple[float, float, float, float]]:
    """A deterministic random walk of hourly candles (history for ATR and the 1h returns of VaR/correlation)."""
    rng = np.random.default_rng(seed)
    closes = start * np.exp(np.cumsum(rng.normal(0, vol, n)))
    closes *= start / closes[-1]  # end exactly at `start`
    opens = np.r_[closes[0], closes[:-1]]
    return [(float(o), float(max(o, c) * 1.001), float(min(o, c) * 0.999), float(c)) for o, c in zip(opens, closes)]


class Script:
    """The signal engine of a test: says what the test tells it to, per symbol, until told otherwise."""

    timeframes: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.plan: dict[str, Action] = {}

    def say(self, symbol: str, action: Action) -> None:
        self.plan[symbol] = action

    def evaluate(self, ctx: SymbolContext) -> Evaluation:
        a = self.plan.get(ctx.symbol, Action.WAIT)
        return Evaluation(a, 0.8, f"script says {a.value}", {"conviction": 8.0}, "script" if a is not Action.WAIT else "")


class SimulatedCrash(BaseException):
    """Raised at a fault point instead of SIGKILL: the test drops the cycle object as the OS would drop the process."""


def crash(point: str) -> None:
    raise SimulatedCrash(point)


def profile(**exits) -> Profile:
    execution = exits.pop("execution", None)
    return Profile(name="test", leverage=5,
                   risk=RiskParams(max_position_pct=15, max_open_positions=4, stop_loss_pct=3.0, take_profit_pct=6.0),
                   exits=ExitParams(**{"cooldown_minutes": 120, **exits}),
                   execution=execution or ExecutionParams())


@dataclass
class Rig:
    tmp: Path
    spec: AgentSpec
    bars: dict[str, list]
    prof: Profile
    risk_cfg: RiskConfig
    clock: ManualClock
    script: Script
    volume: float = 1_000.0
    volume_share: float | None = None
    faults_env: dict[str, str] = field(default_factory=dict)
    other_agents: tuple[str, ...] = ()
    cycle: AgentCycle = field(init=False)

    def __post_init__(self) -> None:
        self.conn = connect(self.tmp / "db.sqlite")
        migrate(self.conn)
        self.feed = ReplayFeed({s: candles(s, b, volume=self.volume) for s, b in self.bars.items()})
        self.start()

    @property
    def kill_file(self) -> Path:
        return self.tmp / "KILL_SWITCH"

    def start(self) -> AgentCycle:
        """(Re)start the agent: a new broker from the venue's file and a new cycle on the same database."""
        mk = perp if self.spec.market == "futures" else spot
        self.broker = SimBroker(self.feed, {s: mk(s) for s in self.bars}, 10_000.0, 2.0, self.tmp / "venue.json",
                                currency="USDT" if self.spec.market == "futures" else "USD",
                                limit_volume_share=self.volume_share, fsync=False)
        self.audit = AuditLog(self.conn, self.spec.name)
        data = MarketData({s: self.feed for s in self.bars}, {s: f"c{i}" for i, s in enumerate(self.bars)})
        self.cycle = AgentCycle(self.spec, self.prof, self.prof.leverage, self.feed, self.broker, self.script,
                                self.audit, self.clock, lookback=200, cycle=self.audit.last_cycle(),
                                risk=RiskEngine(self.risk_cfg, self.prof, kill_switch_path=self.kill_file),
                                market_data=data, other_agents=self.other_agents,
                                faults=FaultInjector(self.spec.name, self.tmp, self.faults_env, action=crash))
        return self.cycle

    def step(self, n: int = 1):  # type: ignore[no-untyped-def]
        result = None
        for _ in range(n):
            result = self.cycle.run_once()
            self.clock.advance(timedelta(hours=1))
        return result

    def decision(self, symbol: str, cycle: int | None = None) -> dict:
        row = self.conn.execute("SELECT * FROM decisions WHERE symbol=? AND cycle=? ORDER BY id DESC LIMIT 1",
                                (symbol, cycle if cycle is not None else self.cycle.cycle)).fetchone()
        d = dict(row)
        d["details"] = json.loads(d["details"] or "{}")
        return d

    def position(self, symbol: str):  # type: ignore[no-untyped-def]
        return self.conn.execute("SELECT * FROM positions WHERE symbol=? ORDER BY id DESC LIMIT 1", (symbol,)).fetchone()

    def events(self, kind: str) -> list[dict]:
        return [dict(r) for r in self.conn.execute("SELECT * FROM events WHERE kind=? ORDER BY id", (kind,))]

    def book_matches_venue(self, external: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        """Positions equal, every venue fill recorded once, every venue order in the book with the same status
        (`external`: orders placed at the venue by someone else)."""
        ours = {r["symbol"]: r["qty"] * (1 if r["side"] == "BUY" else -1) for r in self.audit.open_positions()}
        venue = {p.symbol: p.qty for p in self.broker.positions()}
        assert ours.keys() == venue.keys(), (ours, venue)
        for s in ours:
            assert abs(ours[s] - venue[s]) < 1e-9, (s, ours[s], venue[s])
        assert self.conn.execute("SELECT count(*) FROM fills").fetchone()[0] == len(self.broker.fills)
        venue_ids = {o.client_order_id: o.status.value for o in self.broker.orders.values()}
        book_ids = {r["client_order_id"]: r["status"] for r in self.conn.execute("SELECT client_order_id, status FROM orders")}
        for cid, status in venue_ids.items():
            if cid in external:
                continue
            assert book_ids.get(cid) == status, (cid, status, book_ids.get(cid))
        working = [c for c, st in book_ids.items() if st in ("NEW", "SUBMITTED", "PARTIALLY_FILLED")]
        assert all(c in venue_ids for c in working), working  # nothing working in the book that the venue lacks


def make_rig(tmp_path: Path, symbols: dict[str, list] | None = None, *, spec: AgentSpec = FUT,
             prof: Profile | None = None, risk_cfg: RiskConfig | None = None, start_hour: int = 60, **kw) -> Rig:
    bars = symbols or {"X/USDT:USDT": walk(60, 100.0, 1) + [(100, 100.2, 99.8, 100)] * 40,
                       "Y/USDT:USDT": walk(60, 50.0, 2) + [(50, 50.1, 49.9, 50)] * 40}
    return Rig(tmp_path, spec, bars, prof or profile(), risk_cfg or RiskConfig(), ManualClock(at(T0 + start_hour * H)),
               Script(), **kw)
