"""Benchmark: one full signal pass for 30 symbols x 3 timeframes x 500 candles against TA-Lib alone on the same arrays.

Run:  .venv/bin/python bench/bench_signals.py [--repeats 50]

Data: real bundled candles, 10 files (4 spot 5m, 6 futures 1h) at 3 market times shared by every file of a market
= 30 "symbols"; the symbols of one market at one time form one agent cycle (4 spot, 6 futures symbols, one clock).
Each symbol gets its base timeframe plus two higher ones (5m -> 1h, 4h; 1h -> 4h, 12h: SOL and DOGE perpetuals hold
only ~470 days), 500 closed candles each, served by ReplayFeed (resampled from the base file, closed candles only).
Loading and resampling are setup, not timed.

Timed "core pass" per symbol: compute_features(base) + EMA trend on both higher timeframes + build_market_state
(regime tracker, volatility, ADX, calendar, key levels, funding, risk, contradiction) + quality + conviction +
threshold check. "library pass" adds gate -> run the allowed strategies -> aggregate, with quality/conviction
for the aggregated direction (the library's pieces called by hand, strategies on their own feature cache).

"engine pass" is what the agents run: shared.signals.engine.ProfileSignalEngine.evaluate per symbol — features
shared with the strategies, market state, tier/liquidity filter, the trigger scan over the cycle's universe (once
per cycle), sentiment (lexicon over the bundled headlines), gate, strategies, aggregation, scores, thresholds and
the decision's details. Engines persist across repeats like an agent's; each repeat is a new cycle for the scan,
while the regime trackers see the same candles again (as a paper-mode cycle inside one candle does).

Baseline: TA-Lib alone computing EMA, RSI, MACD, BBANDS, ATR, ADX on all 90 series (30 symbols x 3 timeframes).
Reported: the median of --repeats runs of each, and the ratio pass / baseline (target <= 2).
"""
from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import talib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.market.candles import Candles  # noqa: E402
from shared.market.datafiles import load_candles  # noqa: E402
from shared.market.replay import ReplayFeed  # noqa: E402
from shared.signals.base import SymbolContext  # noqa: E402
from shared.signals.config import SignalsConfig  # noqa: E402
from shared.signals.indicators import compute_features  # noqa: E402
from shared.signals.market_state import RegimeTracker, build_market_state, timeframe_trends  # noqa: E402
from shared.signals.scoring import check_thresholds, conviction_from_state, quality_from_features  # noqa: E402

CANDLES = 500
NOWS = tuple(datetime(*t, tzinfo=timezone.utc) for t in ((2025, 11, 1, 0), (2025, 12, 15, 12), (2026, 2, 1, 6)))
SOURCES = (  # (file, base timeframe, higher timeframes, futures?)
    *((f"spot_5m/{s}_USDT-5m.csv.gz", "5m", ("1h", "4h"), False) for s in ("BTC", "ETH", "SOL", "XRP")),
    *((f"futures_1h/{s}_USDT_USDT-1h-futures.csv.gz", "1h", ("4h", "12h"), True)
      for s in ("BTC", "ETH", "SOL", "XRP", "DOGE", "ADA")),
)


def build_contexts() -> list[SymbolContext]:
    """30 contexts, each with 3 timeframes x 500 closed candles of real data; one `now` per market and cycle."""
    ctxs = []
    for path, base_tf, higher, futures in SOURCES:
        base = load_candles(ROOT / "data" / path, Path(path).name.split("-")[0], base_tf)
        feed = ReplayFeed({base.symbol: base})
        for w, now in enumerate(NOWS):
            candles = {base_tf: feed.candles(base.symbol, now, CANDLES)}
            for tf in higher:
                candles[tf] = feed.candles(base.symbol, now, CANDLES, tf)
            assert all(len(c) == CANDLES for c in candles.values()), (path, now, {tf: len(c) for tf, c in candles.items()})
            ctxs.append(SymbolContext(f"{base.symbol}#{w}", now, candles, base_tf, None, allow_short=futures,
                                      drawdown_pct=2.0, funding_rate=0.0001 if futures else None))
    return ctxs


def make_talib_alone(unwrapped: bool):
    """TA-Lib's six indicators on every series; `unwrapped` calls the C functions without talib's pandas wrapper
    (as shared.signals.indicators does), the strictest baseline."""
    f = {n: getattr(talib, n) for n in ("EMA", "RSI", "MACD", "BBANDS", "ATR", "ADX")}
    if unwrapped:
        f = {n: getattr(fn, "__wrapped__", fn) for n, fn in f.items()}
    ema, rsi, macd, bb, atr, adx = f["EMA"], f["RSI"], f["MACD"], f["BBANDS"], f["ATR"], f["ADX"]

    def talib_alone(ctxs: list[SymbolContext]) -> None:
        for ctx in ctxs:
            for c in ctx.candles.values():
                ema(c.close, 21)
                rsi(c.close, 14)
                macd(c.close, 12, 26, 9)
                bb(c.close, 20, 2.0, 2.0, 0)
                atr(c.high, c.low, c.close, 14)
                adx(c.high, c.low, c.close, 14)

    return talib_alone


def core_pass(ctxs: list[SymbolContext], trackers: dict[str, RegimeTracker], cfg: SignalsConfig) -> int:
    passed = 0
    for ctx in ctxs:
        f = compute_features(ctx.base, cfg.indicators)
        state = build_market_state(ctx, f, trackers[ctx.symbol], cfg, timeframe_trends(ctx, cfg))
        direction = state.trend_direction or 1
        q = quality_from_features(f, direction, None, cfg.quality)
        c = conviction_from_state(q, state, direction, cfg.conviction)
        passed += check_thresholds(q.score, c.score, state.regime, cfg).passed
    return passed


def make_full_pass():
    """The core pass plus gating, strategies and aggregation, if those modules exist yet."""
    try:
        from shared.signals.aggregation import aggregate
        from shared.signals.base import Action
        from shared.signals.gating import gate
        from shared.signals.strategies import Features as StrategyFeatures
        from shared.signals.strategies import build_strategies, run_strategies, strategy_names
    except ImportError as exc:
        return None, f"not included ({exc})"
    strategies = build_strategies(list(strategy_names()))
    names = list(strategies)

    def full_pass(ctxs: list[SymbolContext], trackers: dict[str, RegimeTracker], cfg: SignalsConfig) -> int:
        acted = 0
        for ctx in ctxs:
            f = compute_features(ctx.base, cfg.indicators)
            state = build_market_state(ctx, f, trackers[ctx.symbol], cfg, timeframe_trends(ctx, cfg))
            g = gate(names, regime=state.regime, volatility=state.volatility, drawdown_pct=ctx.drawdown_pct,
                     market="futures" if ctx.allow_short else "spot")
            signals = run_strategies(strategies, g.allowed, ctx, StrategyFeatures(ctx.base))
            agg = aggregate(signals, allow_short=ctx.allow_short, evaluated=g.allowed)
            direction = -1 if agg.action is Action.SELL else 1 if agg.action is Action.BUY else (state.trend_direction or 1)
            q = quality_from_features(f, direction, None, cfg.quality)
            c = conviction_from_state(q, state, direction, cfg.conviction)
            acted += check_thresholds(q.score, c.score, state.regime, cfg).passed and agg.action is not Action.WAIT
        return acted

    return full_pass, "gate + all 5 strategies (allowed ones run) + aggregation included"


class CycleCandles:
    """The scan's view of one cycle's universe: each symbol's base candles (what ReplayFeed serves in the agent)."""

    def __init__(self, ctxs: list[SymbolContext]) -> None:
        self.base = {c.symbol: c.base for c in ctxs}

    def candles(self, symbol: str, now: datetime, lookback: int, timeframe: str | None = None) -> Candles:
        c = self.base[symbol]
        return c.slice(max(0, len(c) - lookback), len(c))


def make_engine_pass(ctxs: list[SymbolContext], cfg: SignalsConfig):
    """One ProfileSignalEngine per market and cycle (its universe = that cycle's symbols), all 5 strategies."""
    from shared.config.settings import Settings
    from shared.market.universe import AgentUniverse, SymbolSpec
    from shared.signals.aggregation import DEFAULT_AGGREGATION
    from shared.signals.engine import ProfileSignalEngine, Thresholds, build_sentiment
    from shared.signals.gating import DEFAULT_GATING
    from shared.signals.strategies import build_strategies, strategy_names

    settings = Settings()
    groups: dict[tuple[bool, datetime], list[SymbolContext]] = {}
    for c in ctxs:
        groups.setdefault((c.allow_short, c.now), []).append(c)
    sentiment = build_sentiment(settings, [c.symbol.split("#")[0] for c in ctxs])
    runs = []
    for (futures, _now), group in groups.items():
        symbols = {c.symbol: SymbolSpec(data="", tier=1) for c in group}
        universe = AgentUniverse(market="futures" if futures else "spot", timeframe=group[0].base_timeframe,
                                 symbols=symbols)
        engine = ProfileSignalEngine(
            market=universe.market, base_timeframe=universe.timeframe, config=cfg,
            strategies=build_strategies(list(strategy_names())), gating=DEFAULT_GATING,
            aggregation=DEFAULT_AGGREGATION, thresholds=Thresholds(5.0, 5.0), sentiment=sentiment,
            symbols=symbols, universe=universe, candles=CycleCandles(group))
        runs.append((engine, group))

    def engine_pass() -> int:
        acted = 0
        for engine, group in runs:
            engine.scanner.new_cycle()
            for ctx in group:
                acted += engine.evaluate(ctx).action.value != "WAIT"
        return acted

    return engine_pass


def measure(fns: dict[str, Callable[[], None]], repeats: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds of each fn. The fns run interleaved in every repeat, so a burst of load from
    other processes hits all of them alike; CPU time (process_time) ignores time spent descheduled."""
    wall: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    gc.disable()
    try:
        for _ in range(repeats):
            for name, fn in fns.items():
                w0, c0 = time.perf_counter(), time.process_time()
                fn()
                cpu[name].append(time.process_time() - c0)
                wall[name].append(time.perf_counter() - w0)
    finally:
        gc.enable()
    return {k: (statistics.median(wall[k]), statistics.median(cpu[k])) for k in fns}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=50)
    args = ap.parse_args()

    ctxs = build_contexts()
    cfg = SignalsConfig(higher_timeframes=("1h", "4h", "12h"))  # 5m -> 1h, 4h (12h not served); 1h -> 4h, 12h
    fresh = lambda: {c.symbol: RegimeTracker(cfg.regime.confirm_cycles) for c in ctxs}  # noqa: E731
    series = sum(len(c.candles) for c in ctxs)
    print(f"{len(ctxs)} symbols, {series} series x {CANDLES} candles of real data; median of {args.repeats} runs")

    public, raw = make_talib_alone(False), make_talib_alone(True)
    full, note = make_full_pass()
    engine = make_engine_pass(ctxs, cfg)
    fns: dict[str, Callable[[], None]] = {
        "talib": lambda: public(ctxs),
        "talib_c": lambda: raw(ctxs),
        # fresh trackers each run: every update goes through the full confirmation logic
        "core": lambda: core_pass(ctxs, fresh(), cfg) and None,
    }
    if full is not None:
        fns["full"] = lambda: full(ctxs, fresh(), cfg) and None
    fns["engine"] = lambda: engine() and None
    for fn in fns.values():  # warm up
        fn()
    t = measure(fns, args.repeats)
    label = {
        "talib": f"TA-Lib alone via talib.X (EMA RSI MACD BBANDS ATR ADX on {series} series)",
        "talib_c": "TA-Lib alone via the C entry points (no pandas wrapper)",
        "core": "core pass: features + market state + quality + conviction + thresholds",
        "full": f"library pass: core + {note}",
        "engine": "engine pass: ProfileSignalEngine.evaluate (+ filter, scan, sentiment, details)",
    }
    print(f"{'':84s} {'wall ms':>8s} {'cpu ms':>8s}  ratio (cpu) vs talib.X / vs C")
    for k, (w, c) in t.items():
        ratio = "" if k.startswith("talib") else f"  {c / t['talib'][1]:.2f}x / {c / t['talib_c'][1]:.2f}x"
        print(f"{label[k]:84s} {w * 1e3:8.3f} {c * 1e3:8.3f}{ratio}")
    if full is None:
        print(f"full pass: {note}")


if __name__ == "__main__":
    main()
