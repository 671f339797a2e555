"""Headline sources: the Protocol the aggregator reads, and an offline source over a bundled CSV.

CSV format (UTF-8, header row): `text` is required; optional columns:
- `published_at`: ISO-8601 time (a trailing Z or an offset; a time without a zone is read as UTC);
- `symbols`: the assets a headline is about, separated by `;`, `,` or spaces ("BTC;ETH", "BTC/USD");
  when present it decides relevance instead of the text (see relevance.py);
- `source`: where the headline came from;
- any other columns (e.g. the bundled sets' `label`) are ignored.

Rows without `published_at` get a deterministic time: the k-th undated row (0-based, in file order) is
published at `undated_anchor + k * undated_step`. The bundled Twitter Financial News files have no times,
so replaying them needs an anchor (for sim mode: the sim start). Without an anchor, undated rows are an error.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Protocol, Sequence


@dataclass(frozen=True)
class Headline:
    text: str
    published_at: datetime  # UTC
    symbols: tuple[str, ...] = ()  # upper-case base assets or tickers this headline is tagged with; () = untagged
    source: str = ""

    def __post_init__(self) -> None:
        if self.published_at.tzinfo is None:
            raise ValueError("Headline.published_at must be timezone-aware (UTC)")


class HeadlineSource(Protocol):
    """Headlines published in [start, end]; never one published after `end` (no look-ahead)."""

    def headlines(self, start: datetime, end: datetime) -> Sequence[Headline]: ...


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


def parse_time(value: str) -> datetime:
    """An ISO-8601 time as UTC ('Z' accepted; no zone means UTC)."""
    v = value.strip()
    if v.endswith(("Z", "z")):
        v = v[:-1] + "+00:00"
    return _utc(datetime.fromisoformat(v))


_SPLIT = re.compile(r"[;,\s]+")


def parse_symbols(value: str) -> tuple[str, ...]:
    """'BTC/USD; eth' -> ('BTC', 'ETH'): the base asset of each tag, upper-case, in order, no repeats."""
    out: list[str] = []
    for tag in _SPLIT.split(value.strip()):
        if not tag:
            continue
        base = tag.lstrip("$").split("/")[0].split(":")[0].upper()
        if base and base not in out:
            out.append(base)
    return tuple(out)


class InMemoryHeadlineSource:
    """Headlines held in memory (tests, and callers that fetch headlines elsewhere)."""

    def __init__(self, headlines: Iterable[Headline]):
        self._items: tuple[Headline, ...] = tuple(sorted(headlines, key=lambda h: h.published_at))

    def headlines(self, start: datetime, end: datetime) -> Sequence[Headline]:
        start, end = _utc(start), _utc(end)
        return [h for h in self._items if start <= h.published_at <= end]

    def __len__(self) -> int:
        return len(self._items)


class CsvHeadlineSource(InMemoryHeadlineSource):
    """The offline source: reads a bundled CSV once, at construction (format in the module docstring)."""

    def __init__(self, path: Path | str, *, undated_anchor: datetime | None = None,
                 undated_step: timedelta = timedelta(minutes=30), source_name: str | None = None):
        if undated_step <= timedelta(0):
            raise ValueError("undated_step must be positive")
        self.path = Path(path)
        super().__init__(self._read(self.path, undated_anchor, undated_step, source_name or self.path.name))

    @staticmethod
    def _read(path: Path, anchor: datetime | None, step: timedelta, source_name: str) -> list[Headline]:
        anchor = _utc(anchor) if anchor is not None else None
        items: list[Headline] = []
        undated = 0
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or "text" not in reader.fieldnames:
                raise ValueError(f"{path}: a headline CSV needs a 'text' column")
            for line, row in enumerate(reader, start=2):
                text = (row.get("text") or "").strip()
                if not text:
                    continue
                raw_time = (row.get("published_at") or "").strip()
                if raw_time:
                    try:
                        published = parse_time(raw_time)
                    except ValueError as exc:
                        raise ValueError(f"{path}:{line}: bad published_at {raw_time!r}") from exc
                else:
                    if anchor is None:
                        raise ValueError(f"{path}:{line}: no published_at and no undated_anchor to place it")
                    published = anchor + undated * step
                    undated += 1
                items.append(Headline(text=text, published_at=published,
                                      symbols=parse_symbols(row.get("symbols") or ""),
                                      source=(row.get("source") or "").strip() or source_name))
        return items
