"""Measure a scorer on labelled headlines (Twitter Financial News Sentiment: 0 Bearish, 1 Bullish, 2 Neutral).

    python -m shared.signals.sentiment.evaluate data/headlines/sent_valid.csv
    python -m shared.signals.sentiment.evaluate data/headlines/sent_valid.csv --scorer finbert --model /models/finbert

Prints overall accuracy, recall per class, the confusion matrix and the majority-class baseline
(always answering the most frequent label of the evaluated file).
"""
from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from shared.signals.sentiment.scoring import Scorer, SentimentLabel

# The dataset's integer labels.
DATASET_LABELS: dict[str, SentimentLabel] = {
    "0": SentimentLabel.NEGATIVE,  # Bearish
    "1": SentimentLabel.POSITIVE,  # Bullish
    "2": SentimentLabel.NEUTRAL,  # Neutral
}
ORDER = (SentimentLabel.NEGATIVE, SentimentLabel.POSITIVE, SentimentLabel.NEUTRAL)
NAMES = {SentimentLabel.NEGATIVE: "Bearish", SentimentLabel.POSITIVE: "Bullish", SentimentLabel.NEUTRAL: "Neutral"}


def load_labelled(path: Path) -> list[tuple[str, SentimentLabel]]:
    """(text, label) rows from a `text,label` CSV."""
    with Path(path).open(newline="", encoding="utf-8") as fh:
        return [(row["text"], DATASET_LABELS[row["label"].strip()]) for row in csv.DictReader(fh)]


@dataclass(frozen=True)
class EvalReport:
    n: int
    accuracy: float
    recall: dict[SentimentLabel, float]
    confusion: dict[SentimentLabel, dict[SentimentLabel, int]]  # true -> predicted -> count
    majority_label: SentimentLabel
    majority_accuracy: float


def evaluate(scorer: Scorer, rows: Sequence[tuple[str, SentimentLabel]]) -> EvalReport:
    if not rows:
        raise ValueError("no labelled rows to evaluate")
    predicted = [s.label for s in scorer.score([text for text, _ in rows])]
    confusion = {t: {p: 0 for p in ORDER} for t in ORDER}
    for (_, truth), pred in zip(rows, predicted):
        confusion[truth][pred] += 1
    n = len(rows)
    correct = sum(confusion[c][c] for c in ORDER)
    support = Counter(truth for _, truth in rows)
    recall = {c: (confusion[c][c] / support[c] if support[c] else 0.0) for c in ORDER}
    majority, count = support.most_common(1)[0]
    return EvalReport(n, correct / n, recall, confusion, majority, count / n)


def format_report(ev: EvalReport, scorer_name: str, path: Path) -> str:
    lines = [
        f"file: {path}  rows: {ev.n}  scorer: {scorer_name}",
        f"accuracy: {ev.accuracy:.4f}",
        f"majority-class baseline (always {NAMES[ev.majority_label]}): {ev.majority_accuracy:.4f}",
        "recall: " + ", ".join(f"{NAMES[c]} {ev.recall[c]:.4f}" for c in ORDER),
        "confusion (rows = true, columns = predicted):",
        f"{'':>10}" + "".join(f"{NAMES[c]:>10}" for c in ORDER),
    ]
    for t in ORDER:
        lines.append(f"{NAMES[t]:>10}" + "".join(f"{ev.confusion[t][p]:>10}" for p in ORDER))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    from shared.signals.sentiment.config import SentimentConfig
    from shared.signals.sentiment.factory import make_scorer

    ap = argparse.ArgumentParser(prog="python -m shared.signals.sentiment.evaluate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv", type=Path, help="a text,label CSV (0 Bearish, 1 Bullish, 2 Neutral)")
    ap.add_argument("--scorer", choices=("lexicon", "finbert", "auto"), default="lexicon")
    ap.add_argument("--model", default="", help="FinBERT model directory or cached model id (finbert/auto)")
    args = ap.parse_args(argv)
    choice = make_scorer(SentimentConfig(scorer=args.scorer, model=args.model))
    print(f"scorer choice: {choice.name} ({choice.reason})", file=sys.stderr)
    ev = evaluate(choice.scorer, load_labelled(args.csv))
    print(format_report(ev, choice.name, args.csv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
