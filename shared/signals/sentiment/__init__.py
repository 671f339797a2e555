"""Headline sentiment for the signal quality score: sources, relevance, decay, scorers, aggregation.

The signal engine holds one SentimentService per process and asks it each cycle:

    service = SentimentService.from_config(SentimentConfig.from_settings(settings), source)
    comp = service.component_for(ctx)        # or service.component(symbol, now, closes)
    comp.value                               # 0..10, 5 = neutral / no headlines
"""
from shared.signals.sentiment.aggregate import ScoredHeadline, SentimentComponent, SentimentService, aggregate
from shared.signals.sentiment.config import SentimentConfig
from shared.signals.sentiment.decay import age_weight
from shared.signals.sentiment.divergence import Divergence, DivergenceConfig, divergence, recent_return
from shared.signals.sentiment.factory import ScorerChoice, SentimentUnavailable, make_scorer
from shared.signals.sentiment.finbert import FinBertScorer
from shared.signals.sentiment.headlines import CsvHeadlineSource, Headline, HeadlineSource, InMemoryHeadlineSource
from shared.signals.sentiment.lexicon import LexiconScorer
from shared.signals.sentiment.relevance import RelevanceFilter, base_asset
from shared.signals.sentiment.scoring import Scorer, SentimentLabel, SentimentScore

__all__ = [
    "CsvHeadlineSource", "Divergence", "DivergenceConfig", "FinBertScorer", "Headline", "HeadlineSource",
    "InMemoryHeadlineSource", "LexiconScorer", "RelevanceFilter", "ScoredHeadline", "Scorer", "ScorerChoice",
    "SentimentComponent", "SentimentConfig", "SentimentLabel", "SentimentScore", "SentimentService",
    "SentimentUnavailable", "age_weight", "aggregate", "base_asset", "divergence", "make_scorer", "recent_return",
]
