"""The signal engine both agents run: market state, gate, strategies, aggregation, scores and thresholds per symbol.

One `evaluate(ctx)` per symbol per cycle (docs/signals.md, "The engine"):

    features (once, shared with the strategies) -> market state (per-symbol RegimeTracker) -> universe tier/liquidity
    -> trigger scan (is this symbol one of the few fully evaluated?) -> gate -> strategies -> aggregation
    -> sentiment -> quality / conviction -> thresholds -> one Evaluation whose details explain it, WAIT included.

Everything the engine remembers between cycles lives on the instance, keyed by symbol: no module state.
"""
from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

import numpy as np
import yaml

from shared.risk.config import risk_config_from_settings
from shared.config.errors import ConfigError
from shared.config.profiles import Profile
from shared.config.settings import Settings
from shared.market.candles import Candles
from shared.market.universe import AgentUniverse, SymbolSpec, load_universe
from shared.signals.aggregation import Aggregate, AggregationConfig, aggregate
from shared.signals.base import Action, Evaluation, SymbolContext
from shared.signals.config import IndicatorParams, SignalsConfig
from shared.signals.gating import GateDecision, GatingConfig, gate
from shared.signals.headline_feed import bundled_headlines
from shared.signals.indicators import Features, compute_features, percentile_rank
from shared.signals.market_state import MarketState, build_market_state, timeframe_trends
from shared.signals.regime import Regime, RegimeTracker, classify_raw
from shared.signals.scoring import (ConvictionScore, QualityScore, Style, ThresholdCheck, check_thresholds,
                                    conviction_from_state, quality_from_features)
from shared.signals.sentiment import (RelevanceFilter, SentimentComponent, SentimentConfig, SentimentService,
                                     SentimentUnavailable)
from shared.signals.sentiment.headlines import HeadlineSource
from shared.signals.strategies import Signal, Strategy, build_strategies, run_strategies
from shared.signals.strategies.base import DEFAULT_MAX_BARS
from shared.signals.strategies.base import Features as StrategyFeatures
from shared.signals.triggers import ScanResult, TriggerScanConfig, bars_needed, scan
from shared.signals.universe_filter import Eligibility, LiquiditySnapshot, check_symbol, quote_volume_24h

log = logging.getLogger(__name__)

# How each built-in strategy trades, for the quality and conviction formulas (a plugin not listed rides trends).
STRATEGY_STYLE: Mapping[str, Style] = MappingProxyType({
    "momentum": "trend", "short_momentum": "trend", "breakout": "trend",
    "mean_reversion": "reversion", "vwap_reversion": "reversion"})
_TREND_REGIMES = (Regime.BULL_TREND, Regime.BEAR_TREND)
# Closed candles a RegimeTracker is fed at most to catch up (at start, or after the cycle skipped candles):
# ample for any confirm window, and bounded so a restart costs a few milliseconds per symbol.
CATCH_UP_CANDLES = 100
_DAY = 86_400


# -- one indicator computation per symbol per cycle ---------------------------------------------------------------
class SharedFeatures(StrategyFeatures):
    """The strategies' feature cache, seeded with the arrays the market state already computed.

    `compute_features` runs once on the same (at most DEFAULT_MAX_BARS) candles the strategies see; a strategy
    asking for RSI, ATR, velocity, acceleration, volume z-score or Bollinger bands with the same period gets
    that array instead of a second TA-Lib call.
    """

    __slots__ = ("indicators",)

    def __init__(self, candles: Candles, params: IndicatorParams, max_bars: int = DEFAULT_MAX_BARS) -> None:
        super().__init__(candles, max_bars)
        f = compute_features(self.candles, params)
        self.indicators: Features = f
        self._memo.update({
            ("rsi", params.rsi_period): f.rsi,
            ("atr", params.atr_period): f.atr,
            ("velocity", params.velocity_period): f.velocity,
            ("acceleration", params.velocity_period): f.acceleration,
            ("volume_z", params.volume_period): f.volume_z,
        })

    def session(self) -> tuple[float, int]:
        """(VWAP of the current UTC day at the last candle, candles in that day so far), as the base class defines
        it — sum(typical x volume) / sum(volume) over today's candles, NaN without volume — in two dot products
        instead of the running per-candle series (only its last value is ever read)."""
        key = ("session",)
        got = self._memo.get(key)
        if got is None:
            c = self.full
            if len(c) == 0:
                got = (float("nan"), 0)
            else:
                t = c.open_time
                first = int(np.searchsorted(t, int(t[-1]) // _DAY * _DAY, side="left"))
                h, lo, cl, v = c.high[first:], c.low[first:], c.close[first:], c.volume[first:]
                vol = float(v.sum())
                vwap = float(((h + lo + cl) @ v) / 3.0 / vol) if vol > 0 else float("nan")
                got = (vwap, len(t) - first)
            self._memo[key] = got
        return got

    def bbands(self, n: int, k: float) -> tuple[Any, Any, Any]:
        p = self.indicators.params
        if n == p.bb_period and k == p.bb_k:
            return self.indicators.bbands  # computed on first use by whichever side asks first
        return super().bbands(n, k)


# -- the trigger scan over the universe ---------------------------------------------------------------------------
class CandleSource(Protocol):
    """What the scanner reads the other symbols' candles from (ReplayFeed in sim; closed candles only)."""

    def candles(self, symbol: str, now: datetime, lookback: int, timeframe: str | None = None) -> Candles: ...


@dataclass(frozen=True)
class ScanView:
    """The scan's verdict on one symbol in one cycle."""

    selected: bool
    why: str
    score: float = 0.0
    rank: int = 0  # 1 = best candidate this cycle, 0 = no trigger
    triggers: tuple[dict[str, Any], ...] = ()

    def details(self) -> dict[str, Any]:
        d: dict[str, Any] = {"selected": self.selected, "why": self.why}
        if self.rank:
            d.update(score=round(self.score, 3), rank=self.rank, triggers=list(self.triggers))
        return d


class UniverseScanner:
    """Which symbols get a full strategy evaluation this cycle: `triggers.scan` over the whole universe, once per
    market time. Open positions are always evaluated, outside the cap.

    With a CandleSource the scan reads every symbol's candles at the cycle's time. Without one it ranks on the
    candles each symbol last showed the engine (this cycle's for the symbol asking, the previous cycle's for
    the others): one cycle late, never ahead.
    """

    def __init__(self, symbols: Sequence[str], config: TriggerScanConfig, source: CandleSource | None = None) -> None:
        self.symbols = tuple(symbols)
        self.config = config
        self.source = source
        self._latest: dict[str, Candles] = {}
        self._held: set[str] = set()
        self._at: datetime | None = None
        self._result: ScanResult | None = None

    def new_cycle(self) -> None:
        """Forget this cycle's ranking (a new market time rescans anyway; this is for a repeat at the same time)."""
        self._at = None

    def view(self, ctx: SymbolContext) -> ScanView:
        sym = ctx.symbol
        self._latest[sym] = ctx.base
        if ctx.position is not None and ctx.position.qty != 0:
            self._held.add(sym)
        else:
            self._held.discard(sym)
        if self._at != ctx.now or self._result is None:
            self._result = self._scan(ctx)
            self._at = ctx.now
        res = self._result
        ranked = {c.symbol: (i + 1, c) for i, c in enumerate(res.candidates)}
        rank, cand = ranked.get(sym, (0, None))
        trig = tuple({"kind": t.kind, "dir": t.direction, "strength": round(t.strength, 2),
                      "confidence": round(t.confidence, 2), "reason": t.reason} for t in cand.triggers) if cand else ()
        score = cand.score if cand else 0.0
        if sym in self._held:
            return ScanView(True, "open position: always evaluated", score, rank, trig)
        if sym in res.skipped:
            return ScanView(False, f"not scanned: {res.skipped[sym]}")
        if cand is None:
            return ScanView(False, "no trigger fired (volume spike, range breakout, momentum move, V reversal)")
        if sym in res.selected:
            return ScanView(True, f"candidate #{rank} of {len(res.candidates)}: {cand.reason}", score, rank, trig)
        why = (f"capped: candidate #{rank} of {len(res.candidates)}, max_candidates {self.config.max_candidates}"
               if score >= self.config.min_score else f"score {score:.2f} < min_score {self.config.min_score:g}")
        return ScanView(False, why, score, rank, trig)

    def _scan(self, ctx: SymbolContext) -> ScanResult:
        if self.source is not None:
            need = bars_needed(ctx.base, self.config)
            series = {s: (ctx.base if s == ctx.symbol else self.source.candles(s, ctx.now, need)) for s in self.symbols}
        else:
            series = {s: self._latest[s] for s in self.symbols if s in self._latest}
        return scan(series, self.config, always=sorted(self._held))


# -- the engine ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Thresholds:
    min_signal_quality: float
    min_conviction_score: float


_INF = (math.inf, -math.inf)


def _num(x: float | None, nd: int = 4) -> float | None:
    """JSON-safe rounded float: NaN and infinities become None (json.dumps would write invalid NaN)."""
    if x is None or x != x or x in _INF:
        return None
    return round(float(x), nd)


def _price(x: float | None) -> float | None:
    """Prices to 7 significant digits (BTC 84123.45, DOGE 0.1923456)."""
    if x is None or x != x or x in _INF or x == 0:
        return None if x != 0 else 0.0
    return round(float(x), 6 - math.floor(math.log10(abs(x))))


def _state_details(s: MarketState) -> dict[str, Any]:
    return {
        "regime_reason": s.regime_reason, "raw_regime": s.raw_regime.value, "raw_confidence": _num(s.raw_confidence, 3),
        "transition_streak": s.transition_streak, "regime_age": s.regime_age,
        "atr_pct": _num(s.atr_pct), "atr_percentile": _num(s.atr_percentile, 1),
        "trend_strength": s.trend_strength.value, "adx": _num(s.adx, 2), "trend_direction": s.trend_direction,
        "timeframe_trends": dict(s.timeframe_trends), "session": s.session.value, "time_window": s.time_window,
        "day_type": s.day_type.value, "week_phase": s.week_phase.value, "key_level_timeframe": s.key_level_timeframe,
        "key_high": _price(s.key_high), "key_low": _price(s.key_low), "dist_to_high_pct": _num(s.dist_to_high_pct, 3),
        "dist_to_low_pct": _num(s.dist_to_low_pct, 3), "funding_rate": _num(s.funding_rate, 6),
        "funding_extreme": s.funding_extreme, "drawdown_pct": _num(s.drawdown_pct, 2), "contradiction": s.contradiction,
    }


def _signal_details(agg: Aggregate) -> list[dict[str, Any]]:
    out = []
    for c in agg.breakdown:
        d = {"source": c.source, "action": c.action, "side": c.side, "confidence": round(c.confidence, 3),
             "weight": c.weight, "counted": c.counted}
        if c.note:
            d["note"] = c.note
        d["metadata"] = {k: (_num(v, 6) if isinstance(v, float) else v) for k, v in c.metadata.items()}
        out.append(d)
    return out


def _sentiment_details(comp: SentimentComponent) -> dict[str, Any]:
    d = {k.removeprefix("sentiment_") if k != "sentiment" else "value": v for k, v in comp.details().items()}
    d["reason"] = comp.reason
    return d


class ProfileSignalEngine:
    """The SignalEngine a profile describes (contract: shared.signals.base.SignalEngine)."""

    def __init__(self, *, market: str, base_timeframe: str, config: SignalsConfig,
                 strategies: Mapping[str, Strategy[Any]], gating: GatingConfig, aggregation: AggregationConfig,
                 thresholds: Thresholds, sentiment: SentimentService, symbols: Mapping[str, SymbolSpec],
                 universe: AgentUniverse, max_drawdown_pct: float | None = None,
                 candles: CandleSource | None = None) -> None:
        self.market = market
        self.base_timeframe = base_timeframe
        self.cfg = config
        self.strategies = dict(strategies)
        self.strategy_names = tuple(self.strategies)
        self.gating = gating
        self.aggregation = aggregation
        self.thresholds = thresholds
        self.sentiment = sentiment
        self.symbols = dict(symbols)
        self.filter = universe.filter
        self.max_drawdown_pct = max_drawdown_pct
        self.scanner = UniverseScanner(list(symbols), universe.scan, candles)
        tfs = list(config.confirm_timeframes(base_timeframe))
        key_tf = config.state.key_level_timeframe
        if key_tf and key_tf != base_timeframe and key_tf not in tfs:
            tfs.append(key_tf)
        self.timeframes: tuple[str, ...] = tuple(tfs)
        self.trackers: dict[str, RegimeTracker] = {}  # per symbol: the only memory the regime needs
        self._fed: dict[str, int] = {}  # per symbol: open time of the newest candle its tracker has counted

    # The cycle calls this once per symbol per cycle.
    def evaluate(self, ctx: SymbolContext) -> Evaluation:
        base = ctx.base
        if len(base) == 0:
            return Evaluation(Action.WAIT, 0.0, f"no closed {ctx.base_timeframe} candle yet", {})
        sf = SharedFeatures(base, self.cfg.indicators)
        f = sf.indicators
        tracker = self._tracker(ctx.symbol, f)
        state = build_market_state(ctx, f, tracker, self.cfg, timeframe_trends(ctx, self.cfg))
        self._fed[ctx.symbol] = int(f.candles.open_time[-1])
        elig = self._eligibility(ctx)
        view = self.scanner.view(ctx)
        comp = self.sentiment.component_for(ctx)
        decision = gate(self.strategy_names, regime=state.regime, volatility=state.volatility,
                        drawdown_pct=ctx.drawdown_pct, market=self.market, config=self.gating,
                        max_drawdown_pct=self.max_drawdown_pct)
        qty = ctx.position.qty if ctx.position is not None else 0.0

        agg: Aggregate | None = None
        signals: list[Signal] = []
        if view.selected:
            signals = run_strategies(self.strategies, decision.allowed, ctx, sf)
            agg = aggregate(signals, self.aggregation, position_qty=qty, allow_short=ctx.allow_short,
                            evaluated=decision.allowed)

        direction, style = self._direction_style(agg, state, ctx, qty)
        q = quality_from_features(f, direction, comp.value, self.cfg.quality, style)
        c = conviction_from_state(q, state, direction, self.cfg.conviction, style)
        th = check_thresholds(q.score, c.score, state.regime, self.cfg, self.thresholds.min_signal_quality,
                              self.thresholds.min_conviction_score)
        action, confidence, why, strategy = self._decide(agg, signals, state, elig, view, decision, th, ctx, qty)

        regime_s = (f"{state.regime.value} {state.regime_confidence:.2f}, {state.volatility.value} vol, "
                    f"quality {q.score:.1f}/{th.min_signal_quality:g}, "
                    f"conviction {c.score:.1f}/{th.min_conviction_score:g}")
        reason = f"{action.value}: {why} | {regime_s}"
        details = self._details(state, f, q, c, th, direction, style, decision, agg, comp, view, elig, why)
        return Evaluation(action, confidence, reason, details, strategy)

    # -- steps -------------------------------------------------------------------------------------------------
    def _tracker(self, symbol: str, f: Features) -> RegimeTracker:
        """The symbol's RegimeTracker, fed every closed candle before the last one that it has not seen yet.

        The cycle may skip candles (sim at TB_SIM_SPEED 6 serves six new 5m candles a second; a restart starts
        with an empty tracker). Evidence counts once per closed candle, so the candles in between are classified
        here from the arrays already computed; the regime then does not depend on how often the cycle runs, and
        a restarted agent rebuilds its regime from the candles instead of starting in TRANSITION.
        """
        tracker = self.trackers.get(symbol)
        if tracker is None:
            tracker = self.trackers[symbol] = RegimeTracker(self.cfg.regime.confirm_cycles)
        t = f.candles.open_time
        n = len(t)
        last = self._fed.get(symbol)
        if last is not None and n >= 2 and last >= int(t[-2]):
            return tracker  # nothing skipped (the usual case in paper and live)
        first = 0 if last is None else int(np.searchsorted(t, last, side="right"))
        first = max(first, n - 1 - CATCH_UP_CANDLES)
        rp = self.cfg.regime
        close, ema_f, ema_s, hist, adx_v, atr_pct = (f.candles.close, f.ema_fast, f.ema_slow, f.macd_hist, f.adx,
                                                     f.atr_pct)
        for i in range(first, n - 1):  # the last candle is build_market_state's
            pctl = percentile_rank(atr_pct[:i + 1], rp.vol_lookback)
            raw = classify_raw(float(close[i]), float(ema_f[i]), float(ema_s[i]), float(hist[i]), float(adx_v[i]),
                               pctl, rp, tracker.confirmed)
            tracker.update(raw.regime, int(t[i]))
        return tracker

    def _eligibility(self, ctx: SymbolContext) -> Eligibility:
        spec = self.symbols.get(ctx.symbol)
        if spec is None:  # a symbol outside the configured universe: lowest tier, no cluster
            spec = SymbolSpec(data="", tier=max(self.filter.tiers))
        liquidity = LiquiditySnapshot(quote_volume_24h=quote_volume_24h(ctx.base))  # spread, depth: not in sim
        return check_symbol(ctx.symbol, spec, liquidity, self.filter)

    @staticmethod
    def _direction_style(agg: Aggregate | None, state: MarketState, ctx: SymbolContext,
                         qty: float) -> tuple[int, Style]:
        """The direction and style the scores are computed for: the trade's, else the setup the state suggests."""
        if agg is not None and agg.action is not Action.WAIT:
            if agg.action is Action.BUY:
                d = 1
            elif agg.action is Action.SELL:
                d = -1
            else:  # an exit: scored in the exit's direction
                d = -1 if qty > 0 else 1
            winners = [c for c in agg.breakdown if c.counted and c.source in agg.sources]
            lead = max(winners, key=lambda c: c.weight * c.confidence).source if winners else ""
            return d, STRATEGY_STYLE.get(lead, "trend")
        d = state.trend_direction if (state.trend_direction > 0 or ctx.allow_short) else 0
        return (d or 1), ("trend" if state.regime in _TREND_REGIMES else "reversion")

    @staticmethod
    def _decide(agg: Aggregate | None, signals: Sequence[Signal], state: MarketState, elig: Eligibility,
                view: ScanView, decision: GateDecision, th: ThresholdCheck, ctx: SymbolContext, qty: float
                ) -> tuple[Action, float, str, str]:
        """(action, confidence, why, strategy). Exits are never held back; entries pass every veto in order."""
        wait = state.wait_reason()
        if agg is None:
            return Action.WAIT, 0.0, (f"{wait}; " if wait else "") + f"not evaluated: {view.why}", ""
        sources = "+".join(agg.sources)
        lead_reason = " + ".join(dict.fromkeys(s.reason for s in signals if s.source in agg.sources))
        if agg.action in (Action.CLOSE, Action.PARTIAL_CLOSE):
            return agg.action, agg.confidence, f"{sources} ({agg.mode} {agg.confidence:.2f}): {lead_reason}", sources
        if agg.action is Action.WAIT:
            if wait:
                return Action.WAIT, 0.0, wait, ""
            if not decision.allowed:
                return Action.WAIT, 0.0, f"no strategy allowed: {decision.reason}", ""
            return Action.WAIT, 0.0, agg.reason, ""
        # an entry (or an add, which the cycle holds)
        want = f"{agg.action.value} from {sources} ({agg.mode} {agg.confidence:.2f})"
        if agg.action is Action.SELL and not ctx.allow_short and qty <= 0:
            return Action.WAIT, 0.0, f"{want} held back: long only, no short", ""
        if wait:
            return Action.WAIT, 0.0, f"{want} held back: {wait}", ""
        if not elig.eligible:
            return Action.WAIT, 0.0, f"{want} held back: universe filter: {elig.reason}", ""
        if not th.passed:
            return Action.WAIT, 0.0, f"{want} below thresholds: {th.reason}", ""
        return agg.action, agg.confidence, f"{sources} ({agg.mode} {agg.confidence:.2f}): {lead_reason}", sources

    def _details(self, state: MarketState, f: Features, q: QualityScore, c: ConvictionScore, th: ThresholdCheck,
                 direction: int, style: Style, decision: GateDecision, agg: Aggregate | None,
                 comp: SentimentComponent, view: ScanView, elig: Eligibility, why: str) -> dict[str, Any]:
        atr = f.last("atr")
        d: dict[str, Any] = {
            # flat keys a query (or the risk layer) reads directly
            "regime": state.regime.value, "regime_confidence": _num(state.regime_confidence, 3),
            "volatility": state.volatility.value, "trend_strength": state.trend_strength.value,
            "risk_state": state.risk_state.value, "quality": _num(q.score, 2), "conviction": _num(c.score, 2),
            "close": _price(state.close), "atr": _price(atr),
            "state": _state_details(state),
            "scores": {
                "direction": direction, "style": style,
                "quality": {"momentum": _num(q.momentum, 2), "volume": _num(q.volume, 2), "rsi": _num(q.rsi, 2),
                            "sentiment": _num(q.sentiment, 2)},
                "conviction": {"quality": _num(c.quality, 2), "regime": _num(c.regime, 2),
                               "volatility": _num(c.volatility, 2), "timeframes": _num(c.timeframes, 2),
                               "timeframes_agreeing": c.timeframes_agreeing,
                               "timeframes_considered": c.timeframes_considered},
                "min_quality": th.min_signal_quality, "min_conviction": th.min_conviction_score,
                "passed": th.passed, "check": th.reason,
            },
            "strategies": {"profile": list(self.strategy_names), "allowed": list(decision.allowed),
                           "blocked": dict(decision.blocked)},
            "sentiment": _sentiment_details(comp),
            "scan": view.details(),
            "universe": {"tier": elig.tier, "cluster": elig.cluster, "eligible": elig.eligible, "why": elig.reason},
            "why": why,
        }
        if agg is None:
            d["aggregation"] = {"ran": False, "why": view.why}
        else:
            d["aggregation"] = {"ran": True, "mode": agg.mode, "action": agg.action.value,
                                "confidence": _num(agg.confidence, 3),
                                "scores": {k: _num(v, 3) for k, v in agg.scores.items() if v},
                                "sources": list(agg.sources), "signals": _signal_details(agg), "reason": agg.reason}
        return d


# -- construction -------------------------------------------------------------------------------------------------
def _universe_for(market: str, settings: Settings) -> AgentUniverse:
    """The universe section of config/universe.yaml for this market (exactly one agent trades each market)."""
    path = settings.root / "config" / "universe.yaml"
    raw = yaml.safe_load(path.read_text()) or {}
    agents = [name for name, body in raw.items() if isinstance(body, dict) and body.get("market") == market]
    if len(agents) != 1:
        raise ConfigError("config/universe.yaml", market, "exactly one agent section per market "
                          f"(found {', '.join(agents) or 'none'})")
    return load_universe(path, agents[0])


def _signals_config(profile: Profile, universe: AgentUniverse) -> SignalsConfig:
    """The profile's signals section with the agent's confirmation timeframes, when the universe names them."""
    if universe.higher_timeframes is None:
        return profile.signals
    data = profile.signals.model_dump()
    data["higher_timeframes"] = universe.higher_timeframes
    return SignalsConfig.model_validate(data)


@dataclass(frozen=True)
class _CachedRelevance(RelevanceFilter):
    """RelevanceFilter whose per-symbol patterns are built once, not on every call (a cycle asks per symbol)."""

    _cache: dict[str, tuple[re.Pattern[str], ...]] = field(default_factory=dict, compare=False, repr=False)

    def patterns(self, symbol: str) -> tuple[re.Pattern[str], ...]:
        got = self._cache.get(symbol)
        if got is None:
            got = self._cache[symbol] = super().patterns(symbol)
        return got


def build_sentiment(settings: Settings, symbols: Sequence[str],
                    source: HeadlineSource | None = None) -> SentimentService:
    """One SentimentService per engine: the TB_SENTIMENT_* scorer over the bundled headlines (or `source`)."""
    config = SentimentConfig.from_settings(settings)
    what = "the given source"
    if source is None:
        files = sorted(Path(settings.data_dir, "headlines").glob("*.csv"))
        source, what = bundled_headlines(files, settings.sim_start, symbols)
    try:
        service = SentimentService.from_config(config, source, relevance=_CachedRelevance())
    except SentimentUnavailable as exc:
        raise ConfigError("TB_SENTIMENT_SCORER", config.scorer, f"a usable scorer ({exc})") from None
    log.info("sentiment: %s; headlines: %s", service.scorer_reason, what)
    return service


def build_signal_engine(market: str, profile: Profile, settings: Settings, *, universe: AgentUniverse | None = None,
                        feed: CandleSource | None = None,
                        headlines: HeadlineSource | None = None) -> ProfileSignalEngine:
    """The engine for one agent. Raises ConfigError for anything a person must fix (unknown strategy, bad scorer).

    universe: the agent's universe (default: the config/universe.yaml section trading `market`).
    feed: where the trigger scan reads the other symbols' candles (the cycle's ReplayFeed); without it the scan
    ranks on the candles each symbol last showed the engine.
    """
    universe = universe or _universe_for(market, settings)
    if universe.market != market:
        raise ConfigError("universe.market", universe.market, market)
    strategies = build_strategies(profile.strategies, setting=f"profiles.{profile.name}.strategies")
    if not strategies:
        raise ConfigError(f"profiles.{profile.name}.strategies", {}, "at least one strategy name")
    if feed is None:
        empty = np.empty(0)
        need = bars_needed(Candles("", universe.timeframe, empty, empty, empty, empty, empty, empty), universe.scan)
        if settings.candle_lookback < need:
            raise ConfigError("TB_CANDLE_LOOKBACK", settings.candle_lookback,
                              f">= {need}: the trigger scan needs that many {universe.timeframe} candles")
    return ProfileSignalEngine(
        market=market, base_timeframe=universe.timeframe, config=_signals_config(profile, universe),
        strategies=strategies, gating=profile.gating, aggregation=profile.aggregation,
        thresholds=Thresholds(settings.min_signal_quality, settings.min_conviction_score),
        sentiment=build_sentiment(settings, list(universe.symbols), headlines), symbols=universe.symbols,
        universe=universe, max_drawdown_pct=min(profile.gating.max_drawdown_pct, risk_config_from_settings(settings).limits.max_drawdown_pct),
        candles=feed,
    )
