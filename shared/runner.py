"""An agent process: validate config, open the database, build the cycle, run it until told to stop."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass

import yaml
from rich.console import Console
from rich.table import Table

from shared.audit.db import connect
from shared.audit.log import AuditLog
from shared.audit.migrations import migrate
from shared.clock import iso
from shared.config.errors import ConfigError, exit_on_config_error
from shared.config.profiles import Profile, load_profiles, select_profile
from shared.config.settings import Settings, load_settings
from shared.cycle import AgentCycle, AgentSpec, CycleResult
from shared.execution.faults import FaultInjector
from shared.execution.portfolio_view import MarketData
from shared.execution.sim_broker import LIMIT_VOLUME_SHARE, SimBroker
from shared.execution.sim_markets import sim_market
from shared.logging_setup import setup_logging
from shared.market.replay import ReplayFeed
from shared.market.sim_clock_store import StoredReplayClock
from shared.market.universe import AgentUniverse, load_universe
from shared.risk.config import RiskConfig, risk_config_or_config_error
from shared.risk.engine import RiskEngine
from shared.signals.engine import build_signal_engine

log = logging.getLogger(__name__)
MAX_CONSECUTIVE_ERRORS = 5  # then exit non-zero and let supervisord restart us with a clean slate


@dataclass(frozen=True)
class AgentConfig:
    settings: Settings
    profile: Profile
    universe: AgentUniverse
    leverage: int
    risk: RiskConfig


def load_agent_config(spec: AgentSpec) -> AgentConfig:
    """Everything an agent needs from configuration, validated; raises ConfigError."""
    settings = load_settings()
    profiles = load_profiles(settings.root / "config" / "profiles.yaml")
    profile = select_profile(profiles, spec.profile_setting, getattr(settings, spec.profile_setting[3:].lower()))
    universe = load_universe(settings.root / "config" / "universe.yaml", spec.name)
    if universe.market != spec.market:
        raise ConfigError(f"universe.{spec.name}.market", universe.market, spec.market)
    leverage = min(profile.leverage, settings.max_leverage) if spec.market == "futures" else 1
    for sym in universe.symbols.values():
        for rel in (sym.data, sym.funding):
            if rel and not (settings.data_dir / rel).exists():
                raise ConfigError("TB_DATA_DIR", str(settings.data_dir), f"a folder holding {rel} (bundled data missing)")
    return AgentConfig(settings, profile, universe, leverage, risk_config_or_config_error(settings))


def build_cycle(spec: AgentSpec, cfg: AgentConfig) -> AgentCycle:
    s = cfg.settings
    conn = connect(s.db_path)
    migrate(conn)
    audit = AuditLog(conn, spec.name)
    feed = ReplayFeed.from_universe(cfg.universe, s.data_dir)
    markets = {sym: sim_market(sym, spec.market) for sym in feed.symbols}
    s.run_dir.mkdir(parents=True, exist_ok=True)
    broker = SimBroker(feed, markets, s.sim_starting_balance, s.sim_slippage_bps, s.run_dir / f"sim_venue_{spec.name}.json",
                       currency="USDT" if spec.market == "futures" else "USD", limit_volume_share=LIMIT_VOLUME_SHARE,
                       account=spec.name)
    clock = StoredReplayClock(conn, s.sim_start, s.sim_clock_rate, end=feed.data_end())
    engine = build_signal_engine(spec.market, cfg.profile, s, universe=cfg.universe, feed=feed)
    risk_cfg = cfg.risk
    risk = RiskEngine(risk_cfg, cfg.profile, kill_switch_path=risk_cfg.kill_switch_file(s.root))
    data, others = fleet_market_data(spec, cfg, feed)
    return AgentCycle(spec, cfg.profile, cfg.leverage, feed, broker, engine, audit, clock,
                      s.candle_lookback, cycle=audit.last_cycle(), risk=risk, market_data=data, other_agents=others,
                      reconcile_every=s.reconcile_every_cycles,
                      faults=FaultInjector(spec.name, s.run_dir))


def fleet_market_data(spec: AgentSpec, cfg: AgentConfig, feed: ReplayFeed) -> tuple[MarketData, tuple[str, ...]]:
    """Candles and clusters of every symbol the fleet trades: fleet VaR and correlation need the other agent's
    symbols too, so this agent loads the other agents' universe feeds as well (docs/risk.md)."""
    path = cfg.settings.root / "config" / "universe.yaml"
    names = [n for n, body in (yaml.safe_load(path.read_text()) or {}).items() if isinstance(body, dict)]
    feeds: dict[str, ReplayFeed] = {sym: feed for sym in feed.symbols}
    clusters = {sym: spec_.cluster for sym, spec_ in cfg.universe.symbols.items()}
    others = tuple(n for n in names if n != spec.name)
    for name in others:
        uni = load_universe(path, name)
        other = ReplayFeed.from_universe(uni, cfg.settings.data_dir)
        for sym, sspec in uni.symbols.items():
            feeds.setdefault(sym, other)
            clusters.setdefault(sym, sspec.cluster)
    return MarketData(feeds, clusters), others


def print_summary(spec: AgentSpec, result: CycleResult, console: Console) -> None:
    table = Table(title=f"{spec.name} cycle {result.cycle} at market time {iso(result.market_time)} "
                        f"(equity {result.equity:,.2f}, {result.trading_state}, {result.seconds * 1000:.0f} ms)")
    for col in ("symbol", "decision", "price", "qty", "reason"):
        table.add_column(col, overflow="fold")
    for o in result.outcomes:
        table.add_row(o.symbol, o.action, f"{o.price:.8g}" if o.price else "", f"{o.qty:.8g}" if o.qty else "", o.reason)
    console.print(table)


def main(spec: AgentSpec, argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m agents.{spec.name}", description=f"Tracer {spec.name} agent")
    parser.add_argument("--once", action="store_true", help="run one cycle, print every symbol's decision, exit")
    args = parser.parse_args(argv)
    try:
        cfg = load_agent_config(spec)
    except ConfigError as err:
        exit_on_config_error(err)
    setup_logging(cfg.settings, spec.name)
    try:
        cycle = build_cycle(spec, cfg)
    except ConfigError as err:
        exit_on_config_error(err)
    audit = cycle.audit
    if args.once:
        result = cycle.run_once()
        audit.heartbeat(os.getpid(), result.cycle, result.seconds, result.market_time, None, result.data_time)
        print_summary(spec, result, Console(width=160))
        return 0
    return run_forever(spec, cfg, cycle)


def run_forever(spec: AgentSpec, cfg: AgentConfig, cycle: AgentCycle) -> int:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: stop.set())
    audit = cycle.audit
    audit.event("start", f"{spec.name} started (mode {cfg.settings.mode}, profile {cfg.profile.name}, pid {os.getpid()})",
                data={"pid": os.getpid(), "mode": cfg.settings.mode, "profile": cfg.profile.name, "cycle": cycle.cycle})
    log.info("started: mode=%s profile=%s symbols=%s", cfg.settings.mode, cfg.profile.name, ",".join(cycle.feed.symbols))
    errors = 0
    while not stop.is_set():
        started = time.monotonic()
        try:
            result = cycle.run_once()
            errors = 0
            audit.heartbeat(os.getpid(), result.cycle, result.seconds, result.market_time, None, result.data_time)
            acted = [o for o in result.outcomes if o.action not in ("WAIT", "HOLD")]
            for o in acted:
                log.info("%s %s qty=%s price=%s: %s", o.action, o.symbol, o.qty, o.price, o.reason)
        except Exception as exc:  # noqa: BLE001 - one bad cycle must not kill the agent silently
            errors += 1
            summary = f"{exc.__class__.__name__}: {exc}"
            log.error("cycle %d failed: %s", cycle.cycle, summary)
            audit.event("error", f"cycle {cycle.cycle} failed: {summary}", "error",
                        {"traceback": traceback.format_exc(limit=8)})
            audit.heartbeat(os.getpid(), cycle.cycle, time.monotonic() - started, None, summary)
            if errors >= MAX_CONSECUTIVE_ERRORS:
                audit.event("stop", f"{spec.name} exiting after {errors} consecutive failed cycles", "critical")
                return 1
        stop.wait(max(0.0, cfg.settings.cycle_seconds - (time.monotonic() - started)))
    audit.event("stop", f"{spec.name} stopped by signal after cycle {cycle.cycle}")
    log.info("stopped")
    return 0


def entrypoint(spec: AgentSpec) -> None:
    sys.exit(main(spec))
