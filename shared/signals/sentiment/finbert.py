"""FinBERT (or any BERT-style 3-class sentiment classifier) through `transformers`, strictly offline.

The model is loaded lazily on the first `score` call and kept by the scorer instance: one load per scorer
object, so one per process when the process builds one scorer (SentimentService does). Loading never
downloads: `local_files_only=True`, and HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE are set to 1 in this process
before `transformers` is imported.

Labels come from the model's `config.id2label` (positive/negative/neutral, or bullish/bearish/neutral, any
case), so label order does not matter: ProsusAI/finbert uses 0 positive, 1 negative, 2 neutral.
The score is P(positive) - P(negative), in [-1, 1].
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from shared.signals.sentiment.scoring import SentimentLabel, SentimentScore

_LABEL_NAMES: dict[str, SentimentLabel] = {
    "positive": SentimentLabel.POSITIVE, "bullish": SentimentLabel.POSITIVE, "pos": SentimentLabel.POSITIVE,
    "negative": SentimentLabel.NEGATIVE, "bearish": SentimentLabel.NEGATIVE, "neg": SentimentLabel.NEGATIVE,
    "neutral": SentimentLabel.NEUTRAL, "neu": SentimentLabel.NEUTRAL,
}


class ModelLabelError(ValueError):
    """The model's id2label cannot be read as positive/negative/neutral."""


def force_offline() -> None:
    """Make the Hugging Face libraries refuse network access in this process."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


def map_labels(id2label: dict[Any, str]) -> tuple[SentimentLabel, ...]:
    """Model output index -> SentimentLabel, from a config's id2label."""
    try:
        indexed = sorted((int(k), v) for k, v in id2label.items())
    except (TypeError, ValueError) as exc:
        raise ModelLabelError(f"id2label keys must be integers: {id2label}") from exc
    if [i for i, _ in indexed] != list(range(len(indexed))):
        raise ModelLabelError(f"id2label must number its labels 0..n-1: {id2label}")
    labels = []
    for _, name in indexed:
        label = _LABEL_NAMES.get(str(name).strip().lower())
        if label is None:
            raise ModelLabelError(f"model label {name!r} is not positive/negative/neutral (id2label {id2label})")
        labels.append(label)
    if SentimentLabel.POSITIVE not in labels or SentimentLabel.NEGATIVE not in labels:
        raise ModelLabelError(f"a sentiment model needs a positive and a negative label: {id2label}")
    return tuple(labels)


@dataclass(frozen=True)
class _Loaded:
    tokenizer: Any
    model: Any
    labels: tuple[SentimentLabel, ...]


class FinBertScorer:
    """Scores texts with a local sequence-classification model; loads it once, on first use."""

    name = "finbert"

    def __init__(self, model: str | Path, *, batch_size: int = 16, max_length: int = 128):
        if batch_size < 1 or max_length < 8:
            raise ValueError("batch_size must be >= 1 and max_length >= 8")
        self.model_ref = str(model)
        self.batch_size = batch_size
        self.max_length = max_length
        self._loaded: _Loaded | None = None
        self._lock = threading.Lock()
        self._load_count = 0

    @property
    def load_count(self) -> int:
        """How many times this scorer loaded its model (0 before the first `score`, then 1)."""
        return self._load_count

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    def _get(self) -> _Loaded:
        with self._lock:
            if self._loaded is None:
                self._loaded = self._load()
                self._load_count += 1
            return self._loaded

    def _load(self) -> _Loaded:
        force_offline()
        import torch  # noqa: F401  (fail here, clearly, when torch is missing)
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(self.model_ref, local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(self.model_ref, local_files_only=True)
        model.eval()
        return _Loaded(tokenizer, model, map_labels(dict(model.config.id2label)))

    def score(self, texts: Sequence[str]) -> list[SentimentScore]:
        if not texts:
            return []
        import torch

        loaded = self._get()
        pos = [i for i, lab in enumerate(loaded.labels) if lab is SentimentLabel.POSITIVE]
        neg = [i for i, lab in enumerate(loaded.labels) if lab is SentimentLabel.NEGATIVE]
        out: list[SentimentScore] = []
        for start in range(0, len(texts), self.batch_size):
            batch = [str(t) for t in texts[start:start + self.batch_size]]
            enc = loaded.tokenizer(batch, padding=True, truncation=True, max_length=self.max_length,
                                   return_tensors="pt")
            with torch.no_grad():
                probs = loaded.model(**enc).logits.softmax(dim=-1).tolist()
            for p in probs:
                best = max(range(len(p)), key=p.__getitem__)
                s = max(-1.0, min(1.0, sum(p[i] for i in pos) - sum(p[i] for i in neg)))
                out.append(SentimentScore(label=loaded.labels[best], score=s,
                                          confidence=max(0.0, min(1.0, p[best]))))
        return out
