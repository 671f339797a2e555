"""The offline headline source the engine's SentimentService reads: bundled CSVs replayed from an anchor time,
pre-filtered to the agent's symbols and indexed by time, so a cycle's lookup is a bisect, not a scan.

The bundled files (data/headlines/*.csv) carry no times: each file's undated rows are placed every `step`
from the anchor (the sim start), and the next file continues where the previous one ended. See docs/signals.md,
"Sentiment", for what that means for sim (the component stays near neutral: few crypto headlines).
"""
from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

from shared.signals.sentiment import CsvHeadlineSource, Headline, RelevanceFilter

DEFAULT_STEP = timedelta(minutes=30)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_FAR = datetime(9999, 1, 1, tzinfo=timezone.utc)


class IndexedHeadlineSource:
    """HeadlineSource over headlines held in memory, sorted by publication time; `headlines(start, end)` bisects."""

    def __init__(self, headlines: Iterable[Headline]) -> None:
        self._items = tuple(sorted(headlines, key=lambda h: h.published_at))
        self._times = [h.published_at for h in self._items]

    def headlines(self, start: datetime, end: datetime) -> Sequence[Headline]:
        lo = bisect.bisect_left(self._times, start.astimezone(timezone.utc))
        hi = bisect.bisect_right(self._times, end.astimezone(timezone.utc))
        return self._items[lo:hi]

    def __len__(self) -> int:
        return len(self._items)


def bundled_headlines(files: Sequence[Path], anchor: datetime, symbols: Iterable[str],
                      step: timedelta = DEFAULT_STEP, relevance: RelevanceFilter | None = None
                      ) -> tuple[IndexedHeadlineSource, str]:
    """(source, description). Files are read in name order; undated rows of each continue after the previous file.

    Only headlines relevant to one of `symbols` are kept (the service filters per symbol again, with the same
    filter, so nothing changes but the cost).
    """
    rel = relevance or RelevanceFilter()
    wanted = tuple(symbols)
    kept: list[Headline] = []
    total = 0
    at = anchor
    for path in sorted(files):
        rows = CsvHeadlineSource(path, undated_anchor=at, undated_step=step).headlines(_EPOCH, _FAR)
        total += len(rows)
        if rows:
            at = max(at, max(h.published_at for h in rows) + step)
        about: dict[int, Headline] = {}
        for s in wanted:  # select() compiles the symbol's patterns once for all rows
            about.update((id(h), h) for h, _ in rel.select(s, rows))
        kept.extend(h for h in rows if id(h) in about)
    names = ", ".join(p.name for p in sorted(files)) or "none"
    what = (f"{total} headlines from {names} replayed every {step.total_seconds() / 60:g} min from "
            f"{anchor:%Y-%m-%d %H:%M}Z to {at:%Y-%m-%d}; {len(kept)} about {', '.join(wanted)}")
    return IndexedHeadlineSource(kept), what
