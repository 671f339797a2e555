"""Pick the scorer: FinBERT when `transformers` + `torch` are importable and a local model is configured,
the lexicon otherwise. The choice says which scorer it is and why, for the start-up log and the audit."""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from shared.signals.sentiment.config import SentimentConfig
from shared.signals.sentiment.finbert import FinBertScorer, force_offline
from shared.signals.sentiment.lexicon import LexiconScorer
from shared.signals.sentiment.scoring import Scorer


class SentimentUnavailable(RuntimeError):
    """TB_SENTIMENT_SCORER=finbert, but FinBERT cannot be used here."""


@dataclass(frozen=True)
class ScorerChoice:
    scorer: Scorer
    name: str  # "finbert" or "lexicon"
    reason: str


def transformers_missing() -> str | None:
    """None when transformers and torch are importable, else which is missing (without importing them)."""
    missing = [m for m in ("transformers", "torch") if importlib.util.find_spec(m) is None]
    if missing:
        return f"{' and '.join(missing)} not installed (pip install '.[sentiment]' and torch)"
    return None


def locate_model(model: str) -> tuple[str | None, str]:
    """(what to load, how it was found) or (None, why not). Looks only on disk, never on the network."""
    if not model.strip():
        return None, "no model configured (TB_SENTIMENT_MODEL is empty)"
    path = Path(model).expanduser()
    if path.is_dir():
        if (path / "config.json").is_file():
            return str(path), f"model directory {path}"
        return None, f"model directory {path} has no config.json"
    if path.is_absolute() or model.startswith((".", "~")):
        return None, f"model directory {path} does not exist"
    force_offline()
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None, f"{model!r} is not a directory and huggingface_hub is not installed to find it in the cache"
    cached = try_to_load_from_cache(model, "config.json")
    if isinstance(cached, str):
        return model, f"model {model!r} from the local Hugging Face cache"
    return None, f"model {model!r} is not a directory and is not in the local Hugging Face cache"


def make_scorer(config: SentimentConfig, *,
                finbert: Callable[[str], Scorer] = FinBertScorer) -> ScorerChoice:
    """The scorer `config` asks for. Does not load a model (FinBertScorer loads on first use)."""
    if config.scorer == "lexicon":
        return ScorerChoice(LexiconScorer(), "lexicon", "TB_SENTIMENT_SCORER=lexicon")
    problem = transformers_missing()
    found, how = (None, "") if problem else locate_model(config.model)
    if problem is None and found is not None:
        return ScorerChoice(finbert(found), "finbert", f"transformers available; {how}")
    why = problem or how
    if config.scorer == "finbert":
        raise SentimentUnavailable(f"TB_SENTIMENT_SCORER=finbert but {why}")
    return ScorerChoice(LexiconScorer(), "lexicon", f"FinBERT not used: {why}")
