"""Sentiment settings in one frozen value (built from Settings by the lead's glue or `from_settings`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from shared.signals.sentiment.divergence import DivergenceConfig

ScorerName = Literal["auto", "lexicon", "finbert"]


@dataclass(frozen=True)
class SentimentConfig:
    scorer: ScorerName = "auto"  # auto: FinBERT when usable, else the lexicon; finbert: required; lexicon: always
    model: str = ""  # FinBERT: a local model directory, or a model id already in the local Hugging Face cache
    half_life: timedelta = timedelta(hours=6)
    max_age: timedelta = timedelta(hours=48)  # headlines older than this are ignored
    prior_weight: float = 1.0  # a neutral pseudo-headline of this weight pulls thin evidence towards 5
    divergence: DivergenceConfig = field(default_factory=DivergenceConfig)

    def __post_init__(self) -> None:
        if self.scorer not in ("auto", "lexicon", "finbert"):
            raise ValueError(f"sentiment scorer must be auto, lexicon or finbert, not {self.scorer!r}")
        if self.half_life <= timedelta(0) or self.max_age <= timedelta(0):
            raise ValueError("sentiment half_life and max_age must be positive")
        if self.prior_weight < 0:
            raise ValueError("sentiment prior_weight must be >= 0")

    @classmethod
    def from_settings(cls, settings: Any) -> "SentimentConfig":
        """Read TB_SENTIMENT_* fields from a Settings object; a field it does not have keeps its default."""
        d = cls()
        return cls(
            scorer=getattr(settings, "sentiment_scorer", d.scorer),
            model=str(getattr(settings, "sentiment_model", d.model) or ""),
            half_life=timedelta(hours=float(getattr(settings, "sentiment_half_life_hours",
                                                    d.half_life.total_seconds() / 3600))),
            max_age=timedelta(hours=float(getattr(settings, "sentiment_max_age_hours",
                                                  d.max_age.total_seconds() / 3600))),
            divergence=DivergenceConfig(
                lookback=int(getattr(settings, "sentiment_momentum_lookback", d.divergence.lookback)),
                threshold=float(getattr(settings, "sentiment_divergence_threshold", d.divergence.threshold)),
            ),
        )
