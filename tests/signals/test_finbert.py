"""The transformers path, on a tiny BERT classifier the test builds on disk (no download, no network)."""
from __future__ import annotations

from pathlib import Path

import pytest

# exc_type=ImportError: a broken install (not only a missing one) skips too, with the reason below.
torch = pytest.importorskip(
    "torch", reason="torch is not importable: the FinBERT scorer needs torch plus the 'sentiment' extra",
    exc_type=ImportError)
transformers = pytest.importorskip(
    "transformers", reason="transformers is not importable: pip install '.[sentiment]' to test the FinBERT scorer",
    exc_type=ImportError)

from shared.signals.sentiment import (  # noqa: E402
    FinBertScorer, InMemoryHeadlineSource, SentimentConfig, SentimentLabel, SentimentService, make_scorer,
)
from shared.signals.sentiment.headlines import Headline  # noqa: E402

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "bitcoin", "ether", "rallies", "plunges", "profit",
         "loss", "the", "price", "up", "down", "news"]
FINBERT_LABELS = {0: "positive", 1: "negative", 2: "neutral"}  # ProsusAI/finbert's order


def build_tiny_bert(path: Path, id2label: dict[int, str], favour: int | None = None) -> Path:
    """A 3-label BertForSequenceClassification with tiny dims and its tokenizer, saved to `path`.

    With `favour`, the classifier head ignores the text and always prefers that output index.
    """
    path.mkdir(parents=True, exist_ok=True)
    (path / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    tokenizer = transformers.BertTokenizer(str(path / "vocab.txt"))
    tokenizer.save_pretrained(str(path))
    config = transformers.BertConfig(
        vocab_size=len(VOCAB), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        max_position_embeddings=64, num_labels=3, id2label=id2label, label2id={v: k for k, v in id2label.items()})
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(config)
    if favour is not None:
        with torch.no_grad():
            model.classifier.weight.zero_()
            model.classifier.bias.copy_(torch.tensor([8.0 if i == favour else 0.0 for i in range(3)]))
    model.save_pretrained(str(path))
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny_finbert"), FINBERT_LABELS)


@pytest.fixture(autouse=True)
def offline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The scorer sets these itself; monkeypatch restores the caller's values after each test.
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")


def test_scores_texts_in_range_from_a_local_path(tiny_model: Path) -> None:
    import os

    scorer = FinBertScorer(tiny_model, batch_size=2)
    texts = ["bitcoin rallies", "ether plunges", "the news", "words the vocabulary lacks", ""]
    out = scorer.score(texts)
    assert len(out) == len(texts)
    for s in out:
        assert -1.0 <= s.score <= 1.0 and 0.0 <= s.confidence <= 1.0
        assert isinstance(s.label, SentimentLabel)
    assert scorer.score([]) == []
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"


def test_loads_once_per_scorer(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = transformers.AutoModelForSequenceClassification.from_pretrained

    def counting(ref, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(str(ref))
        assert kwargs.get("local_files_only") is True  # never a download
        return real(ref, *args, **kwargs)

    monkeypatch.setattr(transformers.AutoModelForSequenceClassification, "from_pretrained", counting)
    scorer = FinBertScorer(tiny_model)
    assert scorer.load_count == 0 and not scorer.loaded  # lazy: nothing loaded at construction
    first = scorer.score(["bitcoin rallies"])
    for _ in range(3):
        assert scorer.score(["bitcoin rallies"]) == first  # same model, same answer
    assert scorer.load_count == 1 and calls == [str(tiny_model)]


@pytest.mark.parametrize("id2label,favour,expected", [
    (FINBERT_LABELS, 0, SentimentLabel.POSITIVE),
    (FINBERT_LABELS, 1, SentimentLabel.NEGATIVE),
    (FINBERT_LABELS, 2, SentimentLabel.NEUTRAL),
    ({0: "neutral", 1: "positive", 2: "negative"}, 2, SentimentLabel.NEGATIVE),  # order differs from FinBERT
    ({0: "Bearish", 1: "Bullish", 2: "Neutral"}, 1, SentimentLabel.POSITIVE),
])
def test_maps_labels_by_id2label(tmp_path: Path, id2label: dict[int, str], favour: int,
                                 expected: SentimentLabel) -> None:
    path = build_tiny_bert(tmp_path / "m", id2label, favour=favour)
    (s,) = FinBertScorer(path).score(["bitcoin rallies"])
    assert s.label is expected
    assert s.confidence > 0.99
    want = {SentimentLabel.POSITIVE: 1.0, SentimentLabel.NEGATIVE: -1.0, SentimentLabel.NEUTRAL: 0.0}[expected]
    assert s.score == pytest.approx(want, abs=0.01)


def test_missing_model_fails_without_network() -> None:
    scorer = FinBertScorer("no-such-org/no-such-finbert-model")
    with pytest.raises(OSError):
        scorer.score(["bitcoin rallies"])
    assert scorer.load_count == 0


def test_factory_picks_finbert_for_a_model_dir_and_service_uses_it(tiny_model: Path) -> None:
    choice = make_scorer(SentimentConfig(scorer="auto", model=str(tiny_model)))
    assert choice.name == "finbert" and str(tiny_model) in choice.reason
    assert isinstance(choice.scorer, FinBertScorer) and choice.scorer.load_count == 0
    from datetime import datetime, timezone

    now = datetime(2025, 3, 1, tzinfo=timezone.utc)
    source = InMemoryHeadlineSource([Headline("bitcoin rallies", now), Headline("ether plunges", now)])
    svc = SentimentService(source, choice.scorer, SentimentConfig())
    c1 = svc.component("BTC/USD", now)
    c2 = svc.component("ETH/USD", now)
    assert c1.scorer == "finbert" and c1.headlines_used == 1 and 0.0 <= c1.value <= 10.0
    assert c2.headlines_used == 1 and choice.scorer.load_count == 1
