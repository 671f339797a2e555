"""A hand-written finance lexicon scorer with negation handling: no model, no download.

How a text is scored:
1. URLs, @handles and cashtags are dropped; the text is lower-cased and split into word tokens. A signed
   percentage such as "+4%" or "-6%" becomes a token of its own sign ("+%" / "-%").
2. At each position the longest lexicon phrase (up to four words) wins; phrases carry the finance meaning
   that single words miss ("price target raised", "cut to neutral", "record high").
3. A negator ("not", "no", "never", "without", any "...n't", "fails to") flips and damps the next term found
   within three tokens: "not bullish" counts -0.75 x bullish.
4. The summed valence v is squashed to a score in (-1, 1) with v / sqrt(v^2 + ALPHA); scores inside
   (-NEUTRAL_BAND, NEUTRAL_BAND) are labelled neutral.

The weights and the two constants were written by hand and tuned on data/headlines/sent_train.csv only;
data/headlines/sent_valid.csv is kept for the accuracy reported in docs (see evaluate.py).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping, Sequence

from shared.signals.sentiment.scoring import SentimentScore, label_for

ALPHA = 4.0
NEUTRAL_BAND = 0.30
NEGATION_FACTOR = -0.75
NEGATION_WINDOW = 3
MAX_PHRASE = 4

# Valence roughly -3 (very bearish) .. +3 (very bullish). Phrases are space-separated lower-case tokens.
_POSITIVE: dict[str, float] = {
    # analyst actions
    "upgrade": 2.5, "upgrades": 2.5, "upgraded": 2.5, "upgrading": 2.5, "outperform": 2.0, "overweight": 2.0,
    "top pick": 2.0, "buy rating": 2.0, "strong buy": 2.5, "initiated at buy": 2.0, "started at buy": 2.0,
    "starts at buy": 2.0, "reiterated buy": 1.5, "price target raised": 2.5, "target raised": 2.5,
    "raises price target": 2.5, "raises target": 2.5, "raised to buy": 2.5, "leaves sidelines": 1.5,
    "bullish": 2.5, "bull": 1.5, "bulls": 1.5, "upside": 1.5, "likes": 1.0, "turns bullish": 2.5,
    # earnings and guidance
    "beat": 2.0, "beats": 2.0, "tops": 2.0, "topped": 2.0, "surpass": 2.0, "surpasses": 2.0, "exceeds": 2.0,
    "exceeded": 2.0, "above expectations": 2.0, "above estimates": 2.0, "better than expected": 2.0,
    "better-than-expected": 2.0, "blow past": 2.0, "raises guidance": 2.5, "raised guidance": 2.5,
    "raises outlook": 2.5, "raises forecast": 2.5, "boosts guidance": 2.5, "guides above": 2.0,
    "record revenue": 2.0, "record profit": 2.0, "profit rises": 2.0, "in-line": 0.5,
    "raises dividend": 2.0, "increases dividend": 2.0, "dividend increase": 2.0, "hikes dividend": 2.0,
    "raised": 1.5, "raises": 1.5, "hikes": 1.0, "buyback": 1.5, "buybacks": 1.0, "repurchase": 1.0,
    # price action
    "rally": 2.0, "rallies": 2.0, "rallied": 2.0, "rallying": 2.0, "surge": 2.5, "surges": 2.5,
    "surged": 2.5, "surging": 2.5, "soar": 2.5, "soars": 2.5, "soared": 2.5, "soaring": 2.5,
    "jump": 2.0, "jumps": 2.0, "jumped": 2.0, "climb": 2.0, "climbs": 2.0, "climbed": 2.0, "climbing": 2.0,
    "gain": 1.5, "gains": 1.5, "gained": 1.5, "rise": 1.5, "rises": 1.5, "rose": 1.5, "rising": 1.5,
    "advance": 1.5, "advances": 1.5, "advanced": 1.0, "rebound": 2.0, "rebounds": 2.0, "rebounded": 2.0,
    "bounce": 1.5, "bounces": 1.5, "bounced": 1.5, "recover": 1.5, "recovers": 1.5, "recovery": 1.0,
    "higher": 1.5, "up": 1.0, "edges higher": 1.5, "lift": 1.5, "lifts": 1.5, "lifted": 1.5,
    "boost": 1.5, "boosts": 1.5, "boosted": 1.5, "spike": 1.0, "spikes": 1.0, "breakout": 2.0,
    "squeeze": 1.0, "record high": 2.5, "record highs": 2.5, "all-time high": 2.5, "all-time highs": 2.5,
    "new high": 2.0, "new highs": 2.0, "highs": 1.5, "multi-year high": 2.0, "52-week high": 2.0,
    "pops": 2.0, "skyrockets": 3.0, "rockets": 2.5, "moon": 2.0, "green": 1.0, "+%": 1.5,
    # tone
    "strong": 1.5, "stronger": 1.5, "strength": 1.5, "solid": 1.5, "robust": 1.0, "upbeat": 2.0,
    "optimism": 2.0, "optimistic": 2.0, "hope": 1.0, "hopes": 1.0, "positive": 1.5, "encouraging": 1.5,
    "promising": 1.5, "improves": 1.5, "improved": 1.5, "improving": 1.5, "boom": 1.5, "booming": 1.5,
    "growth": 1.0, "grows": 1.0, "growing": 1.0, "expand": 1.0, "expands": 1.0, "expansion": 1.0,
    "profit": 1.0, "profitable": 1.5, "profitability": 1.0, "win": 1.5, "wins": 1.5, "won": 1.0,
    "approval": 1.5, "approves": 1.5, "approved": 1.5, "fda approval": 2.0, "breakthrough": 2.0,
    "success": 1.5, "successful": 1.5, "best": 1.0, "outperforms": 2.0, "secures": 1.5, "benefit": 1.0,
    "adoption": 1.0, "inflows": 1.5, "accumulation": 1.0, "nice": 1.0, "impressive": 1.5,
    "52-week highs": 2.0, "intraday high": 1.5, "is a buy": 2.0, "says buy": 2.0,
    "buying": 0.5, "cheered": 1.5, "cheers": 1.5, "excited": 1.5, "great": 0.5, "excellent": 1.5,
    "pop": 1.5, "resilient": 1.5, "stabilize": 1.0, "stabilizes": 1.0, "flourish": 1.5, "hot": 0.5,
    "cut tariffs": 1.5, "cuts tariffs": 1.5, "unemployment falls": 2.0, "jobless claims fall": 2.0,
    "jobless claims falls": 2.0, "blockbuster": 1.5, "beating": 1.5, "outpaces": 1.5, "record": 0.5,
    "good": 0.5, "buoys": 2.0, "buoyed": 2.0, "ascend": 1.5, "ascends": 1.5, "multimonth high": 2.0,
    "crazy about": 1.5, "good time to buy": 2.5, "buy": 0.5, "primed": 1.0, "upward": 1.5,
    "momentum": 0.5, "back above": 1.5, "increase": 1.0, "increases": 1.0, "increased": 1.0,
    "outperformance": 1.5, "bullish momentum": 2.5, "bargain": 1.0, "undervalued": 1.5,
}

_NEGATIVE: dict[str, float] = {
    # analyst actions
    "downgrade": -2.5, "downgrades": -2.5, "downgraded": -2.5, "downgrading": -2.5,
    "underperform": -2.0, "underweight": -2.0, "sell rating": -2.0, "initiated at sell": -2.0,
    "started at sell": -2.0, "starts at sell": -2.0, "cut to sell": -2.5, "cut to neutral": -2.0,
    "cuts to neutral": -2.0, "cut to hold": -2.0, "cuts to hold": -2.0, "lowered to": -2.0,
    "price target cut": -2.5, "target cut": -2.5, "cuts price target": -2.5, "cuts target": -2.5,
    "price target lowered": -2.5, "target lowered": -2.5, "lowers price target": -2.5,
    "bearish": -2.5, "bear": -1.5, "bears": -1.5, "turns bearish": -2.5, "downside": -1.5,
    # earnings and guidance
    "miss": -2.0, "misses": -2.0, "missed": -2.0, "missing": -1.0, "below expectations": -2.0,
    "below estimates": -2.0, "worse than expected": -2.0, "worse-than-expected": -2.0, "shortfall": -2.0,
    "cuts guidance": -2.5, "lowers guidance": -2.5, "cuts outlook": -2.5, "lowers outlook": -2.5,
    "cuts forecast": -2.5, "lowers forecast": -2.5, "withdraws guidance": -2.0, "guides below": -2.0,
    "profit warning": -2.5, "warns": -2.0, "warning": -1.5, "warned": -1.5, "disappoint": -2.0,
    "disappoints": -2.0, "disappointing": -2.0, "disappointed": -2.0, "loss": -1.5, "losses": -1.5,
    "net loss": -1.5, "cuts dividend": -2.5, "suspends dividend": -2.5, "slashes": -2.0, "slashed": -2.0,
    "cut": -1.0, "cuts": -1.0, "cutting": -1.0, "lower": -1.5, "lowers": -1.5, "lowered": -1.5,
    # price action
    "fall": -1.5, "falls": -1.5, "fell": -1.5, "falling": -1.5, "drop": -1.5, "drops": -1.5,
    "dropped": -1.5, "dropping": -1.5, "decline": -1.5, "declines": -1.5, "declined": -1.5,
    "declining": -1.5, "slip": -1.5, "slips": -1.5, "slipped": -1.5, "slide": -2.0, "slides": -2.0,
    "slid": -2.0, "sliding": -2.0, "slump": -2.0, "slumps": -2.0, "slumped": -2.0, "tumble": -2.5,
    "tumbles": -2.5, "tumbled": -2.5, "plunge": -2.5, "plunges": -2.5, "plunged": -2.5, "plunging": -2.5,
    "plummet": -3.0, "plummets": -3.0, "plummeted": -3.0, "sink": -2.0, "sinks": -2.0, "sank": -2.0,
    "sinking": -2.0, "tank": -2.5, "tanks": -2.5, "tanked": -2.5, "tanking": -2.5, "crash": -2.5,
    "crashes": -2.5, "crashed": -2.5, "dump": -2.0, "dumps": -2.0, "dumping": -2.0, "dip": -1.0,
    "dips": -1.0, "down": -1.0, "lows": -1.5, "lowest": -1.5, "new low": -2.0, "new lows": -2.0,
    "selloff": -2.0, "sell-off": -2.0, "sharply lower": -2.5, "hammered": -2.5, "sheds": -1.5,
    "stumble": -1.5, "stumbles": -1.5, "erases": -1.0, "wipes out": -2.0, "red": -0.5, "-%": -1.5,
    "bloodbath": -3.0, "capitulation": -2.0, "liquidations": -1.5, "liquidated": -1.5,
    # tone and events
    "weak": -2.0, "weaker": -2.0, "weakness": -2.0, "weakens": -1.5, "soft": -1.0, "negative": -1.5,
    "concern": -1.5, "concerns": -1.5, "concerned": -1.5, "fear": -1.5, "fears": -1.5, "worry": -1.5,
    "worries": -1.5, "worried": -1.5, "risk": -0.5, "risks": -0.5, "uncertainty": -1.5, "trouble": -2.0,
    "troubles": -2.0, "crisis": -2.0, "recession": -2.0, "downturn": -2.0, "slowdown": -1.5,
    "slowing": -1.0, "bankruptcy": -2.5, "bankrupt": -2.5, "default": -2.0, "defaults": -2.0,
    "lawsuit": -1.5, "sues": -1.5, "sued": -1.5, "probe": -1.5, "investigation": -1.0, "fraud": -2.5,
    "scandal": -2.0, "hack": -2.0, "hacked": -2.5, "exploit": -2.0, "breach": -2.0, "stolen": -2.0,
    "ban": -1.5, "bans": -1.5, "banned": -1.5, "crackdown": -2.0, "fine": -0.5, "fined": -1.5,
    "layoffs": -2.0, "lays off": -2.0, "job cuts": -2.0, "recall": -1.5, "recalls": -1.5,
    "delay": -1.0, "delays": -1.0, "delayed": -1.0, "halt": -1.5, "halts": -1.5, "halted": -1.5,
    "suspend": -1.5, "suspends": -1.5, "suspended": -1.5, "shut": -1.5, "shuts": -1.5,
    "closes": -0.5, "closing": -0.5, "fail": -2.0, "fails": -2.0, "failed": -2.0, "failure": -2.0,
    "struggle": -1.5, "struggles": -1.5, "struggling": -1.5, "pressure": -1.0, "pain": -1.5,
    "hurt": -1.5, "hurts": -1.5, "hit": -1.0, "hits": -0.5, "threat": -1.5, "threatens": -1.5,
    "bleak": -2.0, "dismal": -2.0, "grim": -2.0, "costs": -0.5, "outflows": -1.5, "bubble": -1.5,
    "outbreak": -1.5, "pandemic": -1.0, "tariffs": -0.5,
    "unexpectedly": -0.5, "deeper": -1.0, "shortage": -1.5, "volatile": -0.5, "panic": -2.0,
    "retreat": -1.5, "retreats": -1.5, "retreated": -1.5, "sells off": -2.0, "sold off": -2.0,
    "is a sell": -2.0, "says sell": -2.0, "low": -0.5, "violent": -1.5, "cashing out": -1.0,
    "bad": -1.5, "worst": -2.0, "worse": -1.5, "selling": -0.5, "insolvency": -2.0, "rout": -2.0,
    "scepticism": -1.5, "skepticism": -1.5, "decrease": -1.0, "decreases": -1.0, "decreased": -1.0,
    "back below": -1.5, "overvalued": -1.5, "sell": -0.5, "short seller": -1.5, "hacks": -2.0,
}

# Phrases that carry no sentiment although one of their words does ("rate cut" is not a bad headline).
_NEUTRAL_PHRASES: dict[str, float] = {
    "rate cut": 0.0, "rate cuts": 0.0, "cut rates": 0.0, "cuts rates": 0.0, "cuts rate": 0.0,
    "cuts key rate": 0.0, "cut interest rates": 0.0, "interest rate cut": 0.0, "high yield": 0.0,
    "fine print": 0.0, "short interest": 0.0, "to buy": 0.0, "output cuts": 0.0, "production cuts": 0.0,
    "buy back": 1.0, "agrees to buy": 0.0,
}

# Phrases that intensify rather than negate ("never been more bullish").
_BOOSTER_PHRASES: dict[str, float] = {
    "never been more": 1.5, "never been this": 1.5, "never been so": 1.5, "no doubt": 1.0,
}

# Words that move a score by scaling the next term's magnitude.
_BOOSTERS: dict[str, float] = {
    "sharply": 1.5, "significantly": 1.3, "massive": 1.3, "huge": 1.3, "very": 1.3, "strongly": 1.3,
    "slightly": 0.6, "modestly": 0.7, "marginally": 0.6,
}
BOOSTERS: Mapping[str, float] = MappingProxyType({**_BOOSTERS, **_BOOSTER_PHRASES})

NEGATORS = frozenset({
    "not", "no", "never", "without", "nor", "neither", "hardly", "barely", "cannot", "fails to", "failed to",
    "lack", "lacks", "despite",
})

_URL = re.compile(r"https?://\S+|www\.\S+")
_HANDLE = re.compile(r"[@$#][A-Za-z][\w.]*")
_SIGNED_PCT = re.compile(r"(?<![\w.])([+\-−])\s?\d+(?:\.\d+)?\s?%")
_TOKEN = re.compile(r"[+\-]%|[a-z0-9]+(?:[-'’][a-z0-9]+)*")


def _default_terms() -> Mapping[str, float]:
    merged = dict(_POSITIVE)
    overlap = set(merged) & set(_NEGATIVE)
    if overlap:
        raise ValueError(f"lexicon terms listed as both positive and negative: {sorted(overlap)}")
    merged.update(_NEGATIVE)
    merged.update(_NEUTRAL_PHRASES)
    return MappingProxyType(merged)


DEFAULT_TERMS: Mapping[str, float] = _default_terms()


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens with URLs, @handles, $cashtags and #hashtags removed; signed % moves as '+%'/'-%'."""
    text = _URL.sub(" ", text)
    text = _SIGNED_PCT.sub(lambda m: " -% " if m.group(1) in "-−" else " +% ", text)
    text = _HANDLE.sub(" ", text)
    text = text.lower().replace("’", "'")
    return _TOKEN.findall(text)


@dataclass(frozen=True)
class LexiconScorer:
    """Scores finance headlines with a hand-written lexicon; deterministic, fast, no model needed."""

    terms: Mapping[str, float] = field(default_factory=lambda: DEFAULT_TERMS, compare=False)
    alpha: float = ALPHA
    neutral_band: float = NEUTRAL_BAND
    name: str = "lexicon"

    def valence(self, text: str) -> float:
        """The raw summed valence of a text (before squashing)."""
        tokens = tokenize(text)
        total = 0.0
        negate_left = 0  # tokens left in the current negation scope
        boost = 1.0
        i = 0
        while i < len(tokens):
            kind, n, value = self._match(tokens, i)
            i += n
            if kind == "negator":
                negate_left = NEGATION_WINDOW
            elif kind == "booster":
                boost = value
            elif kind == "term":
                if value:
                    total += value * boost * (NEGATION_FACTOR if negate_left > 0 else 1.0)
                negate_left, boost = 0, 1.0
            else:
                negate_left = max(0, negate_left - 1)
        return total

    def _match(self, tokens: Sequence[str], i: int) -> tuple[str, int, float]:
        """The longest entry starting at i: ("term", n, valence), ("booster", n, factor), ("negator", n, 0)
        or ("none", 1, 0)."""
        for n in range(min(MAX_PHRASE, len(tokens) - i), 0, -1):
            phrase = " ".join(tokens[i:i + n])
            if phrase in self.terms:
                return "term", n, self.terms[phrase]
            if phrase in BOOSTERS:
                return "booster", n, BOOSTERS[phrase]
            if phrase in NEGATORS or (n == 1 and phrase.endswith("n't")):
                return "negator", n, 0.0
        return "none", 1, 0.0

    def score_one(self, text: str) -> SentimentScore:
        v = self.valence(text)
        s = v / math.sqrt(v * v + self.alpha) if v else 0.0
        s = max(-1.0, min(1.0, s))
        return SentimentScore(label=label_for(s, self.neutral_band), score=s, confidence=abs(s))

    def score(self, texts: Sequence[str]) -> list[SentimentScore]:
        return [self.score_one(t) for t in texts]
