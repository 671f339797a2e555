"""Which headlines are about which symbol.

A symbol in ccxt notation ("BTC/USD", "BTC/USDT:USDT") or a plain equity ticker ("AAPL") is reduced to its
base asset. A headline tagged with symbols (the CSV `symbols` column) is relevant exactly when the base is
among its tags. An untagged headline is matched on its text, on whole words only ("ether" does not match
"whether"):
- every base matches its cashtag, any case: "$BTC", "$aapl";
- known crypto assets also match their names and bare tickers (ALIASES below); a bare ticker or name that is
  also a common word (SOL, ADA, Ripple...) must be written as such ("SOL", "Ripple"); "Bitcoin Cash" is not BTC;
- other symbols (equities) match by cashtag only, unless the caller adds names with `extra_aliases`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Iterable, Mapping

from shared.signals.sentiment.headlines import Headline


@dataclass(frozen=True)
class Alias:
    term: str
    case_sensitive: bool = False
    not_followed_by: tuple[str, ...] = ()  # words that make it another asset ("Bitcoin Cash" is BCH)


def _aliases(names: tuple[str | Alias, ...], ticker: str, ticker_case_sensitive: bool = False) -> tuple[Alias, ...]:
    return tuple(n if isinstance(n, Alias) else Alias(n) for n in names) + (Alias(ticker, ticker_case_sensitive),)


_NOT_BTC = ("cash", "sv", "gold", "diamond")

ALIASES: Mapping[str, tuple[Alias, ...]] = MappingProxyType({
    "BTC": _aliases((Alias("bitcoin", not_followed_by=_NOT_BTC), "bitcoins", "xbt"), "btc"),
    "ETH": _aliases((Alias("ethereum", not_followed_by=("classic",)), "ether"), "eth"),
    "SOL": _aliases(("solana",), "SOL", True),
    "XRP": _aliases((Alias("Ripple", True),), "xrp"),  # lower-case "ripple effects" is not XRP
    "DOGE": _aliases(("dogecoin",), "doge"),
    "ADA": _aliases(("cardano",), "ADA", True),
    "LTC": _aliases(("litecoin",), "ltc"),
    "BCH": _aliases(("bitcoin cash",), "bch"),
    "LINK": _aliases(("chainlink",), "LINK", True),
    "DOT": _aliases(("polkadot",), "DOT", True),
    "AVAX": _aliases((Alias("Avalanche", True),), "avax"),
})


def base_asset(symbol: str) -> str:
    """'BTC/USD' -> 'BTC', 'ETH/USDT:USDT' -> 'ETH', '$aapl' -> 'AAPL'."""
    base = symbol.strip().lstrip("$").split("/")[0].split(":")[0].upper()
    if not base:
        raise ValueError(f"no base asset in symbol {symbol!r}")
    return base


def _pattern(aliases: tuple[Alias, ...], base: str) -> tuple[re.Pattern[str], ...]:
    pats = [re.compile(rf"(?<![\w$])\${re.escape(base)}(?![\w])", re.IGNORECASE)]
    for a in aliases:
        words = r"\s+".join(re.escape(w) for w in a.term.split())
        flags = 0 if a.case_sensitive else re.IGNORECASE
        exclude = "".join(rf"(?!\s+(?i:{re.escape(w)})(?!\w))" for w in a.not_followed_by)
        pats.append(re.compile(rf"(?<![\w$])\$?{words}(?![\w]){exclude}", flags))
    return tuple(pats)


@dataclass(frozen=True)
class RelevanceFilter:
    """Matches headlines to symbols; `extra_aliases` adds names per base, e.g. {"AAPL": ("apple",)}."""

    extra_aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False)

    def patterns(self, symbol: str) -> tuple[re.Pattern[str], ...]:
        base = base_asset(symbol)
        aliases = ALIASES.get(base, ()) + tuple(Alias(t) for t in self.extra_aliases.get(base, ()))
        return _pattern(aliases, base)

    def match(self, symbol: str, headline: Headline) -> str | None:
        """Why `headline` is about `symbol` (the tag or the matched words), or None when it is not."""
        return _match(base_asset(symbol), self.patterns(symbol), headline)

    def is_relevant(self, symbol: str, headline: Headline) -> bool:
        return self.match(symbol, headline) is not None

    def select(self, symbol: str, headlines: Iterable[Headline]) -> list[tuple[Headline, str]]:
        """The headlines about `symbol`, each with why it matched."""
        base, pats = base_asset(symbol), self.patterns(symbol)
        out = []
        for h in headlines:
            why = _match(base, pats, h)
            if why is not None:
                out.append((h, why))
        return out


def _match(base: str, patterns: tuple[re.Pattern[str], ...], headline: Headline) -> str | None:
    if headline.symbols:
        return f"tag {base}" if base in headline.symbols else None
    for pat in patterns:
        m = pat.search(headline.text)
        if m:
            return m.group(0)
    return None
