"""The one interface every sentiment scorer implements, and the score it returns."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol, Sequence


class SentimentLabel(str, Enum):
    POSITIVE = "positive"  # bullish
    NEGATIVE = "negative"  # bearish
    NEUTRAL = "neutral"


@dataclass(frozen=True)
class SentimentScore:
    """One text's sentiment: a label and a signed score in [-1, 1] (-1 bearish, 0 neutral, +1 bullish)."""

    label: SentimentLabel
    score: float
    confidence: float  # 0..1: the model's probability of `label`, or the lexicon's |score| strength

    def __post_init__(self) -> None:
        if not -1.0 <= self.score <= 1.0:
            raise ValueError(f"sentiment score {self.score} is outside [-1, 1]")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence {self.confidence} is outside [0, 1]")


class Scorer(Protocol):
    """Scores texts; `name` says which scorer it is (recorded with every sentiment component)."""

    name: str

    def score(self, texts: Sequence[str]) -> list[SentimentScore]:
        """One score per text, in order."""
        ...


def label_for(score: float, neutral_band: float) -> SentimentLabel:
    """Label a signed score: inside (-neutral_band, neutral_band) is neutral."""
    if score >= neutral_band:
        return SentimentLabel.POSITIVE
    if score <= -neutral_band:
        return SentimentLabel.NEGATIVE
    return SentimentLabel.NEUTRAL
