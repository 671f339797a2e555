"""Per-symbol sentiment: relevant headlines, scored, decayed with age -> a 0-10 component (5 = neutral).

    score  = sum(w_i * s_i) / (sum(w_i) + prior_weight)     s_i in [-1, 1], w_i = 0.5 ** (age_i / half_life)
    value  = 5 + 5 * score                                    in [0, 10]; no headlines -> exactly 5

The prior weight is a neutral pseudo-headline: one stale headline barely moves the value, many fresh ones do.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Sequence

from shared.signals.base import SymbolContext
from shared.signals.sentiment.config import SentimentConfig
from shared.signals.sentiment.decay import age_weight
from shared.signals.sentiment.divergence import Divergence, divergence, recent_return
from shared.signals.sentiment.factory import ScorerChoice, make_scorer
from shared.signals.sentiment.headlines import Headline, HeadlineSource
from shared.signals.sentiment.relevance import RelevanceFilter, base_asset
from shared.signals.sentiment.scoring import Scorer, SentimentScore

NEUTRAL = 5.0
TOP_N = 3


@dataclass(frozen=True)
class ScoredHeadline:
    text: str
    published_at: datetime
    matched: str  # why it is about the symbol
    score: float  # [-1, 1]
    weight: float  # age weight, (0, 1]


@dataclass(frozen=True)
class SentimentComponent:
    symbol: str
    at: datetime
    value: float  # 0..10, 5 neutral
    score: float  # [-1, 1], the decayed, prior-shrunk mean
    headlines_used: int
    weight_total: float
    divergence: Divergence | None  # None without enough closes
    scorer: str
    reason: str
    top: tuple[ScoredHeadline, ...] = ()  # the heaviest headlines, for the decision's reasons

    def details(self) -> dict[str, Any]:
        """Flat numbers for the audit row."""
        d: dict[str, Any] = {
            "sentiment": round(self.value, 3), "sentiment_score": round(self.score, 4),
            "sentiment_headlines": self.headlines_used, "sentiment_weight": round(self.weight_total, 4),
            "sentiment_scorer": self.scorer,
        }
        if self.divergence is not None:
            d.update(sentiment_divergence=round(self.divergence.value, 4),
                     sentiment_divergence_flag=self.divergence.flag,
                     sentiment_divergence_kind=self.divergence.kind)
        return d


def aggregate(symbol: str, now: datetime, items: Sequence[tuple[Headline, str, SentimentScore]],
              config: SentimentConfig, scorer_name: str,
              price_return: float | None = None) -> SentimentComponent:
    """Pure: combine scored relevant headlines into the component (weights from `now`, never the clock)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    now = now.astimezone(timezone.utc)
    scored = []
    for h, why, s in items:
        w = age_weight(h.published_at, now, config.half_life, config.max_age)
        if w > 0:
            scored.append(ScoredHeadline(h.text, h.published_at, why, s.score, w))
    total_w = sum(x.weight for x in scored)
    denom = total_w + config.prior_weight
    score = sum(x.weight * x.score for x in scored) / denom if denom > 0 else 0.0
    score = max(-1.0, min(1.0, score))
    value = max(0.0, min(10.0, NEUTRAL + 5.0 * score))
    div = divergence(score, price_return, config.divergence) if price_return is not None else None
    top = tuple(sorted(scored, key=lambda x: (-x.weight * abs(x.score), -x.weight))[:TOP_N])
    return SentimentComponent(symbol, now, value, score, len(scored), total_w, div, scorer_name,
                              _reason(symbol, scored, score, value, scorer_name, config, div), top)


def _reason(symbol: str, scored: Sequence[ScoredHeadline], score: float, value: float, scorer: str,
            config: SentimentConfig, div: Divergence | None) -> str:
    base = base_asset(symbol)
    hours = config.max_age.total_seconds() / 3600
    if not scored:
        text = f"no {base} headlines in the last {hours:g}h: sentiment neutral {value:.1f}/10"
    else:
        text = (f"{len(scored)} {base} headline{'s' if len(scored) != 1 else ''} ({scorer}), "
                f"decayed score {score:+.2f}: sentiment {value:.1f}/10")
    if div is not None and div.flag:
        news = "bullish news, falling price" if div.kind == "bullish_news_falling_price" else \
            "bearish news, rising price"
        text += (f"; divergence {div.value:+.2f} ({news}: {div.price_return:+.2%} over "
                 f"{config.divergence.lookback} candles)")
    return text


class SentimentService:
    """What the signal engine holds: one per process. `component(symbol, now, closes)` -> SentimentComponent."""

    def __init__(self, source: HeadlineSource, scorer: Scorer, config: SentimentConfig = SentimentConfig(), *,
                 relevance: RelevanceFilter | None = None, scorer_reason: str = "", cache_size: int = 10_000):
        self.source = source
        self.scorer = scorer
        self.config = config
        self.relevance = relevance or RelevanceFilter()
        self.scorer_reason = scorer_reason
        self._cache: OrderedDict[str, SentimentScore] = OrderedDict()
        self._cache_size = cache_size

    @classmethod
    def from_config(cls, config: SentimentConfig, source: HeadlineSource,
                    relevance: RelevanceFilter | None = None) -> "SentimentService":
        choice: ScorerChoice = make_scorer(config)
        return cls(source, choice.scorer, config, relevance=relevance, scorer_reason=choice.reason)

    def _scores(self, texts: Sequence[str]) -> list[SentimentScore]:
        """Scores with a per-service cache: the same headline is scored once, not once per cycle."""
        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if todo:
            for t, s in zip(todo, self.scorer.score(todo)):
                self._cache[t] = s
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        out = []
        for t in texts:
            s = self._cache.get(t)
            if s is None:  # evicted just now by a huge batch: score it directly
                s = self.scorer.score([t])[0]
            out.append(s)
        return out

    def component(self, symbol: str, now: datetime, closes: Sequence[float] | None = None) -> SentimentComponent:
        """The 0-10 sentiment component of `symbol` at market time `now`; `closes` (closed candles, oldest
        first) enable the divergence against price momentum."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware (UTC)")
        relevant = self.relevance.select(symbol, self.source.headlines(now - self.config.max_age, now))
        scores = self._scores([h.text for h, _ in relevant])
        items = [(h, why, s) for (h, why), s in zip(relevant, scores)]
        ret = recent_return(closes, self.config.divergence.lookback) if closes is not None else None
        return aggregate(symbol, now, items, self.config, self.scorer.name, ret)

    def component_for(self, ctx: SymbolContext) -> SentimentComponent:
        """The component for one cycle's SymbolContext (its base-timeframe closes give the momentum)."""
        return self.component(ctx.symbol, ctx.now, ctx.base.close)
