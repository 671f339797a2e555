"""The signal engine the agents run (shared.signals.engine): built from config, fed real bundled candles.

What is pinned here: config errors at start (unknown strategy, bad universe), one indicator computation per
symbol per cycle, a regime that does not depend on the cycle's cadence, spot never selling, thresholds
(global and per regime), the trigger scan's cap, sentiment reaching quality, and decisions that explain
themselves, WAIT included.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from shared.config.errors import ConfigError
from shared.config.profiles import Profile, load_profiles
from shared.config.settings import PROJECT_ROOT, Settings
from shared.execution.models import PositionReport
from shared.market.replay import ReplayFeed
from shared.market.universe import AgentUniverse, load_universe
from shared.signals import indicators as ind
from shared.signals.base import Action, SymbolContext
from shared.signals.config import SignalsConfig
from shared.signals.engine import ProfileSignalEngine, SharedFeatures, UniverseScanner, build_signal_engine
from shared.signals.sentiment import Headline, InMemoryHeadlineSource
from shared.signals.strategies import Features as StrategyFeatures
from shared.signals.triggers import TriggerScanConfig
from tests.helpers import T0, candles

PROFILES = PROJECT_ROOT / "config" / "profiles.yaml"
UNIVERSE = PROJECT_ROOT / "config" / "universe.yaml"
DATA = PROJECT_ROOT / "data"
START = datetime(2025, 3, 1, tzinfo=timezone.utc)
EVERYTHING_EVERYWHERE = {"regimes": {r: ["momentum", "short_momentum", "breakout", "mean_reversion", "vwap_reversion"]
                                     for r in ("BULL_TREND", "BEAR_TREND", "SIDEWAYS_LOW_VOL", "SIDEWAYS_HIGH_VOL")},
                         "volatility_blocks": {"LOW": []}}


@pytest.fixture(scope="module")
def worlds():
    """(universe, feed) per agent, loaded once: the bundled data replayed as in sim."""
    out = {}
    for agent in ("hybrid", "futures"):
        uni = load_universe(UNIVERSE, agent)
        out[agent] = (uni, ReplayFeed.from_universe(uni, DATA))
    return out


def engine_for(agent: str, worlds, profile: Profile | str | None = None, settings: Settings | None = None,
               **kw) -> ProfileSignalEngine:
    uni, feed = worlds[agent]
    if not isinstance(profile, Profile):
        name = profile or ("momentum_standard" if agent == "hybrid" else "momentum_aggressive")
        profile = load_profiles(PROFILES)[name]
    return build_signal_engine(uni.market, profile, settings or Settings(), universe=kw.pop("universe", uni),
                               feed=kw.pop("feed", feed), **kw)


def ctx_at(engine: ProfileSignalEngine, feed: ReplayFeed, symbol: str, now: datetime, *, qty: float = 0.0,
           lookback: int = 300, drawdown: float = 0.0) -> SymbolContext:
    """What the cycle hands the engine: closed base candles plus every timeframe the engine asks for."""
    base = feed.candles(symbol, now, lookback)
    frames = {base.timeframe: base, **{tf: feed.candles(symbol, now, lookback, tf) for tf in engine.timeframes}}
    pos = PositionReport(symbol, qty, float(base.close[-1])) if qty else None
    funding = feed.funding(symbol)
    return SymbolContext(symbol, now, frames, base.timeframe, pos, engine.market == "futures", drawdown_pct=drawdown,
                         funding_rate=funding.latest(now.timestamp()) if funding else None)


def run(engine: ProfileSignalEngine, feed: ReplayFeed, steps: int, step: timedelta, start: datetime = START):
    """Evaluate every symbol at `steps` successive times; yields (now, symbol, Evaluation)."""
    now = start
    for _ in range(steps):
        for symbol in feed.symbols:
            yield now, symbol, engine.evaluate(ctx_at(engine, feed, symbol, now))
        now += step


# -- configuration: named strategies, validated universe --------------------------------------------------------
def test_each_agent_reads_its_confirmation_timeframes(worlds):
    assert engine_for("hybrid", worlds).timeframes == ("1h", "4h")
    assert engine_for("futures", worlds).timeframes == ("4h", "1d")


def test_every_bundled_profile_builds_for_both_agents(worlds):
    for name in load_profiles(PROFILES):
        for agent in ("hybrid", "futures"):
            eng = engine_for(agent, worlds, name)
            assert eng.strategy_names, name


def write_profile(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "profiles.yaml"
    p.write_text("profiles:\n  x:\n" + body)
    return p


def test_unknown_strategy_name_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_profiles(write_profile(tmp_path, "    strategies: {momentun: {}}\n"))
    assert err.value.setting == "profiles.x.strategies" and err.value.value == "momentun"
    assert "momentum" in err.value.allowed  # says what is allowed


def test_bad_strategy_param_names_the_param(tmp_path):
    with pytest.raises(ConfigError, match=r"profiles\.x\.strategies\.momentum\.lookbak"):
        load_profiles(write_profile(tmp_path, "    strategies: {momentum: {lookbak: 3}}\n"))
    with pytest.raises(ConfigError, match=r"profiles\.x\.gating"):
        load_profiles(write_profile(tmp_path, "    gating: {regimes: {BULL_TREND: [moonshot]}}\n"))
    with pytest.raises(ConfigError, match=r"profiles\.x\.aggregation\.mode"):
        load_profiles(write_profile(tmp_path, "    aggregation: {mode: majority}\n"))


def test_the_agent_exits_2_on_an_unknown_strategy(tmp_path):
    root = tmp_path / "root"
    (root / "config").mkdir(parents=True)
    shutil.copy(UNIVERSE, root / "config" / "universe.yaml")
    text = PROFILES.read_text().replace("momentum: {lookback: 12", "momentun: {lookback: 12", 1)
    (root / "config" / "profiles.yaml").write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TB_")}
    env.update(TB_ROOT=str(root), TB_DATA_DIR=str(DATA), TB_RUN_DIR=str(tmp_path / "run"),
               TB_DB_PATH=str(tmp_path / "t.db"), TB_LOG_DIR=str(tmp_path / "logs"))
    proc = subprocess.run([sys.executable, "-m", "agents.hybrid", "--once"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "strategies" in proc.stderr and "momentun" in proc.stderr


@pytest.mark.parametrize("edit, setting", [
    ("cluster: majors, tier: 1}", "universe.hybrid.symbols.BTC/USD.cluster"),
    ("tier: 1}", "universe.hybrid.symbols.BTC/USD.tier"),
])
def test_universe_is_validated_at_start(tmp_path, edit, setting):
    bad = "cluster: moon, tier: 1}" if "cluster" in edit else "tier: 7}"
    text = UNIVERSE.read_text().replace(edit, bad, 1)
    p = tmp_path / "universe.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_universe(p, "hybrid")
    assert err.value.setting == setting


def test_universe_scan_and_filter_keys_are_checked(tmp_path):
    p = tmp_path / "universe.yaml"
    p.write_text(UNIVERSE.read_text().replace("max_candidates: 3", "max_candidate: 3", 1))
    with pytest.raises(ConfigError, match=r"universe\.hybrid\.scan\.max_candidate"):
        load_universe(p, "hybrid")
    p.write_text(UNIVERSE.read_text().replace("higher_timeframes: [1h, 4h]", "higher_timeframes: [7m]", 1))
    with pytest.raises(ConfigError, match="higher_timeframes"):
        load_universe(p, "hybrid")


# -- one indicator computation per symbol per cycle -------------------------------------------------------------
def test_strategies_reuse_the_market_state_indicators(worlds, monkeypatch):
    calls: dict[str, int] = {}
    for name in ("rsi", "atr", "velocity", "acceleration", "volume_zscore", "bbands"):
        real = getattr(ind, name)

        def counted(*a, _real=real, _name=name, **k):
            calls[_name] = calls.get(_name, 0) + 1
            return _real(*a, **k)
        monkeypatch.setattr(ind, name, counted)
    base = load_profiles(PROFILES)["momentum_standard"]
    # every strategy at its default periods (which match the indicator periods), all allowed everywhere
    profile = base.model_copy(update={"strategies": {n: {} for n in base.strategies},
                                      "gating": type(base.gating)(**EVERYTHING_EVERYWHERE)})
    uni, feed = worlds["futures"]
    eng = engine_for("futures", worlds, profile,
                     universe=uni.model_copy(update={"scan": TriggerScanConfig(max_candidates=100,
                                                                               momentum_move={"min_move_pct": 1e-6})}))
    now = START + timedelta(days=2)
    ev = eng.evaluate(ctx_at(eng, feed, "BTC/USDT:USDT", now))
    ran = ev.details["strategies"]["allowed"]
    assert {"momentum", "mean_reversion", "breakout"} <= set(ran), ev.details["strategies"]
    assert ev.details["aggregation"]["ran"]
    # RSI, ATR, velocity, acceleration: computed once by compute_features, never again by a strategy
    assert calls.get("rsi", 0) == calls.get("atr", 0) == calls.get("velocity", 0) == calls.get("acceleration", 0) == 0
    assert calls.get("volume_zscore", 0) == 1 and calls.get("bbands", 0) <= 1


def test_shared_session_vwap_equals_the_strategies_definition(worlds):
    _, feed = worlds["hybrid"]
    for hours in (0.5, 7, 13.25, 23.9, 48):
        now = START + timedelta(hours=hours)
        c = feed.candles("ETH/USD", now, 300)
        ours = SharedFeatures(c, ind.IndicatorParams()).session()
        theirs = StrategyFeatures(c).session()
        assert ours[1] == theirs[1] and ours[0] == pytest.approx(theirs[0], rel=1e-12)


# -- market state per symbol, kept in the engine ---------------------------------------------------------------
def test_regime_does_not_depend_on_how_often_the_cycle_runs(worlds):
    """Sim at TB_SIM_SPEED 6 shows the hybrid agent every sixth 5m candle; the regime must be the same."""
    _, feed = worlds["hybrid"]
    every, sixth = engine_for("hybrid", worlds), engine_for("hybrid", worlds)
    now = START
    compared = 0
    for i in range(240):
        a = every.evaluate(ctx_at(every, feed, "BTC/USD", now))
        if i % 6 == 0:
            b = sixth.evaluate(ctx_at(sixth, feed, "BTC/USD", now))
            assert (a.details["regime"], a.details["state"]["regime_age"], a.details["state"]["transition_streak"]) == \
                   (b.details["regime"], b.details["state"]["regime_age"], b.details["state"]["transition_streak"])
            compared += 1
        now += timedelta(minutes=5)
    assert compared == 40
    assert set(every.trackers) == {"BTC/USD"}  # per symbol, on the instance


def test_a_restarted_engine_starts_from_the_candles_not_from_transition(worlds):
    _, feed = worlds["futures"]
    eng = engine_for("futures", worlds)
    states = [eng.evaluate(ctx_at(eng, feed, s, START + timedelta(days=3))).details["regime"] for s in feed.symbols]
    assert sum(r != "TRANSITION" for r in states) >= len(states) // 2, states


# -- decisions ---------------------------------------------------------------------------------------------------
REQUIRED = {"regime", "regime_confidence", "volatility", "trend_strength", "risk_state", "quality", "conviction",
            "close", "atr", "state", "scores", "strategies", "sentiment", "scan", "universe", "aggregation", "why"}


def check_explains_itself(ev) -> None:
    d = ev.details
    assert REQUIRED <= set(d), REQUIRED - set(d)
    assert ev.reason and "\n" not in ev.reason and ev.reason.startswith(ev.action.value)
    st = d["state"]
    for key in ("session", "time_window", "day_type", "key_high", "key_low", "dist_to_high_pct", "funding_extreme",
                "drawdown_pct", "atr_percentile", "adx", "timeframe_trends", "contradiction"):
        assert key in st, key
    assert set(d["scores"]["quality"]) == {"momentum", "volume", "rsi", "sentiment"}
    assert {"quality", "regime", "volatility", "timeframes"} <= set(d["scores"]["conviction"])
    assert {"profile", "allowed", "blocked"} <= set(d["strategies"])
    for name in set(d["strategies"]["profile"]) - set(d["strategies"]["allowed"]):
        assert d["strategies"]["blocked"][name]  # every blocked strategy says why
    assert "value" in d["sentiment"] and d["sentiment"]["reason"]
    text = json.dumps(d, allow_nan=False)  # valid JSON for the decisions table: no NaN
    assert len(text) < 6000


def test_decisions_explain_themselves_wait_included(worlds):
    eng = engine_for("futures", worlds)
    _, feed = worlds["futures"]
    seen = {a: 0 for a in Action}
    for _, _, ev in run(eng, feed, 72, timedelta(hours=1)):
        check_explains_itself(ev)
        seen[ev.action] += 1
        if ev.action in (Action.BUY, Action.SELL):
            assert ev.strategy and ev.details["aggregation"]["sources"] == ev.strategy.split("+")
            assert ev.details["scores"]["passed"] and ev.details["universe"]["eligible"]
            assert ev.details["regime"] != "TRANSITION" and not ev.details["state"]["contradiction"]
        else:
            assert ev.strategy == ""
    assert seen[Action.WAIT] > 0 and seen[Action.BUY] + seen[Action.SELL] > 0, seen


def test_transition_and_contradictions_wait(worlds):
    eng = engine_for("hybrid", worlds)
    _, feed = worlds["hybrid"]
    waited = 0
    for _, _, ev in run(eng, feed, 288, timedelta(minutes=5)):
        st = ev.details["state"]
        if ev.details["regime"] == "TRANSITION" or st["contradiction"]:
            assert ev.action is Action.WAIT
            assert "TRANSITION" in ev.reason or "contradiction" in ev.reason
            waited += 1
    assert waited > 0


def test_spot_never_sells_even_in_a_falling_market(worlds):
    base = load_profiles(PROFILES)["momentum_standard"]
    profile = base.model_copy(update={"gating": type(base.gating)(**EVERYTHING_EVERYWHERE)})
    eng = engine_for("hybrid", worlds, profile)
    _, feed = worlds["hybrid"]
    blocked_short = 0
    for _, _, ev in run(eng, feed, 288, timedelta(minutes=5)):
        assert ev.action is not Action.SELL
        blocked_short += "spot is long-only" in ev.details["strategies"]["blocked"].get("short_momentum", "")
    assert blocked_short > 0


def test_thresholds_hold_back_weak_entries(worlds):
    _, feed = worlds["futures"]
    # momentum_standard sets no per-regime thresholds (a profile's per-regime value replaces the global one)
    loose = engine_for("futures", worlds, "momentum_standard", Settings(min_signal_quality=0, min_conviction_score=0))
    strict = engine_for("futures", worlds, "momentum_standard", Settings(min_signal_quality=10, min_conviction_score=0))
    entries, held = 0, 0
    for (_, _, a), (_, _, b) in zip(run(loose, feed, 72, timedelta(hours=1)), run(strict, feed, 72, timedelta(hours=1))):
        entries += a.action in (Action.BUY, Action.SELL)
        assert b.action not in (Action.BUY, Action.SELL)
        held += "below thresholds: quality" in b.reason
    assert entries > 0 and held > 0


def test_a_profile_may_set_thresholds_per_regime(worlds):
    base = load_profiles(PROFILES)["momentum_aggressive"]
    signals = SignalsConfig.model_validate({**base.signals.model_dump(), "regime_thresholds": {
        r: {"min_conviction_score": 10} for r in ("BULL_TREND", "BEAR_TREND", "SIDEWAYS_LOW_VOL", "SIDEWAYS_HIGH_VOL")}})
    eng = engine_for("futures", worlds, base.model_copy(update={"signals": signals}))
    _, feed = worlds["futures"]
    evs = [ev for _, _, ev in run(eng, feed, 72, timedelta(hours=1))]
    assert all(ev.action not in (Action.BUY, Action.SELL) for ev in evs)
    assert any("conviction" in ev.reason and " in " in ev.details["scores"]["check"] for ev in evs)
    assert all(ev.details["scores"]["min_conviction"] == 10 for ev in evs if ev.details["regime"] != "TRANSITION")


def test_open_positions_get_exits_from_the_strategies(worlds):
    eng = engine_for("futures", worlds)
    _, feed = worlds["futures"]
    now, exits = START, 0
    for _ in range(120):
        for symbol in feed.symbols:
            ev = eng.evaluate(ctx_at(eng, feed, symbol, now, qty=1.0))
            assert ev.details["scan"]["selected"]  # an open position is always evaluated
            exits += ev.action is Action.CLOSE
            assert ev.action is not Action.SELL  # a down view while long closes, never flips
        now += timedelta(hours=1)
    assert exits > 0


# -- the trigger scan ---------------------------------------------------------------------------------------------
def test_scan_ranks_caps_and_always_evaluates_open_positions():
    def series(sym: str, move: float):
        closes = [100.0] * 30 + [100.0 * (1 + move * (i + 1) / 12) for i in range(12)]
        return candles(sym, [(c, c * 1.001, c * 0.999, c) for c in closes])

    moves = {"A": 0.06, "B": 0.04, "C": 0.03, "D": 0.0}
    cs = {s: series(s, m) for s, m in moves.items()}
    scanner = UniverseScanner(list(cs), TriggerScanConfig(max_candidates=1, range_breakout={"enabled": False}))
    now = datetime.fromtimestamp(T0 + 42 * 3600, tz=timezone.utc)

    def view(sym, qty=0.0):
        pos = PositionReport(sym, qty, 100.0) if qty else None
        return scanner.view(SymbolContext(sym, now, {"1h": cs[sym]}, "1h", pos, True))

    # without a feed the first symbol of a cycle ranks only what it has seen: show every symbol once first
    for s in cs:
        view(s)
    scanner.new_cycle()
    got = {s: view(s) for s in cs}
    assert got["A"].selected and got["A"].rank == 1
    assert not got["B"].selected and got["B"].why.startswith("capped")
    assert not got["D"].selected and "no trigger" in got["D"].why
    scanner.new_cycle()
    assert view("C", qty=1.0).selected  # open position: always, outside the cap
    assert view("A").selected  # and the cap still holds a place for the best candidate


def test_scan_with_a_feed_reads_every_symbol_at_the_cycle_time(worlds):
    uni, feed = worlds["futures"]
    eng = engine_for("futures", worlds)
    now = START + timedelta(days=5)
    views = [eng.evaluate(ctx_at(eng, feed, s, now)).details["scan"] for s in feed.symbols]
    selected = [v for v in views if v["selected"]]
    assert len(selected) <= uni.scan.max_candidates
    ranks = sorted(v["rank"] for v in views if v.get("rank"))
    assert ranks == list(range(1, len(ranks) + 1))  # one ranking for the whole cycle


# -- sentiment ----------------------------------------------------------------------------------------------------
def test_sentiment_component_reaches_quality(worlds):
    now = START + timedelta(days=1)
    bullish = [Headline(text=f"Bitcoin surges to record high as ETF inflows soar {i}", published_at=now - timedelta(hours=i),
                        symbols=("BTC",)) for i in range(1, 6)]
    eng = engine_for("hybrid", worlds, headlines=InMemoryHeadlineSource(bullish))
    neutral = engine_for("hybrid", worlds)
    _, feed = worlds["hybrid"]
    a = eng.evaluate(ctx_at(eng, feed, "BTC/USD", now))
    b = neutral.evaluate(ctx_at(neutral, feed, "BTC/USD", now))
    assert a.details["sentiment"]["value"] > 6 and a.details["sentiment"]["headlines"] == 5
    assert b.details["sentiment"]["value"] == pytest.approx(5.0, abs=0.5)
    if a.details["scores"]["direction"] == 1:
        assert a.details["scores"]["quality"]["sentiment"] > b.details["scores"]["quality"]["sentiment"]
    other = eng.evaluate(ctx_at(eng, feed, "ETH/USD", now))
    assert other.details["sentiment"]["headlines"] == 0  # relevant to BTC only


def test_the_engine_keeps_no_module_state(worlds):
    import shared.signals.engine as mod
    mutable = [k for k, v in vars(mod).items() if not k.startswith("__") and isinstance(v, (dict, list, set))]
    assert mutable == [], mutable
    a, b = engine_for("hybrid", worlds), engine_for("hybrid", worlds)
    _, feed = worlds["hybrid"]
    a.evaluate(ctx_at(a, feed, "SOL/USD", START))
    assert set(a.trackers) == {"SOL/USD"} and b.trackers == {}


def test_quote_volume_and_tiers_decide_eligibility(worlds):
    uni, feed = worlds["hybrid"]
    strict = uni.filter.model_copy(update={"tiers": {**uni.filter.tiers,
                                                      2: uni.filter.tiers[2].model_copy(update={"min_quote_volume_24h": 1e13})}})
    eng = engine_for("hybrid", worlds, universe=uni.model_copy(update={"filter": strict}))
    now = START + timedelta(days=2)
    sol = eng.evaluate(ctx_at(eng, feed, "SOL/USD", now)).details["universe"]
    btc = eng.evaluate(ctx_at(eng, feed, "BTC/USD", now)).details["universe"]
    assert not sol["eligible"] and "24h quote volume" in sol["why"]
    assert btc["eligible"] and btc["tier"] == 1


def test_universe_defaults_unlabelled_symbols_to_the_lowest_tier():
    u = AgentUniverse(market="spot", timeframe="5m", symbols={"X/USD": {"data": "x.csv"}})
    assert u.symbols["X/USD"].tier == 3 and np.isfinite(u.filter.tiers[3].min_quote_volume_24h)


def test_higher_timeframes_the_engine_reads_are_closed(worlds):
    for agent in ("hybrid", "futures"):
        eng = engine_for(agent, worlds)
        _, feed = worlds[agent]
        for minutes in (7, 95, 241, 1439, 2917):  # inside open buckets of every higher timeframe
            now = START + timedelta(days=2, minutes=minutes)
            ctx = ctx_at(eng, feed, feed.symbols[0], now)
            assert set(eng.timeframes) <= set(ctx.candles)
            for tf in eng.timeframes:
                assert ctx.candles[tf].close_time(-1) <= now, (agent, tf, now)
            ev = eng.evaluate(ctx)
            assert set(ev.details["state"]["timeframe_trends"]) == set(eng.timeframes)
