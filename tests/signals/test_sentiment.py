"""Sentiment without a model: sources, relevance, decay, divergence, lexicon, aggregation, factory, evaluation."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Sequence

import numpy as np
import pytest

from shared.market.candles import Candles
from shared.signals.base import SymbolContext
from shared.signals.sentiment import (
    CsvHeadlineSource, DivergenceConfig, Headline, InMemoryHeadlineSource, LexiconScorer, RelevanceFilter,
    SentimentConfig, SentimentLabel, SentimentScore, SentimentService, SentimentUnavailable, age_weight,
    aggregate, base_asset, divergence, make_scorer, recent_return,
)
from shared.signals.sentiment import factory as factory_mod
from shared.signals.sentiment.evaluate import evaluate, load_labelled, main as evaluate_main
from shared.signals.sentiment.finbert import ModelLabelError, map_labels
from shared.signals.sentiment.lexicon import tokenize

ROOT = Path(__file__).resolve().parents[2]
VALID = ROOT / "data" / "headlines" / "sent_valid.csv"
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
POS, NEG, NEU = SentimentLabel.POSITIVE, SentimentLabel.NEGATIVE, SentimentLabel.NEUTRAL


def hl(text: str, age: timedelta = timedelta(0), symbols: tuple[str, ...] = ()) -> Headline:
    return Headline(text=text, published_at=T0 - age, symbols=symbols)


@dataclass
class FixedScorer:
    """Scores by substring: '+' in text -> +1, '-' -> -1, else 0; counts texts scored."""

    name: str = "fixed"
    scored: list[str] = field(default_factory=list)

    def score(self, texts: Sequence[str]) -> list[SentimentScore]:
        self.scored.extend(texts)
        out = []
        for t in texts:
            s = 1.0 if "+" in t else -1.0 if "-" in t else 0.0
            out.append(SentimentScore(POS if s > 0 else NEG if s < 0 else NEU, s, abs(s)))
        return out


# ---------------------------------------------------------------- relevance

@pytest.mark.parametrize("symbol,text", [
    ("BTC/USD", "Bitcoin rallies past $60k"),
    ("BTC/USD", "Why BTC could double"),
    ("BTC/USD", "Traders pile into $btc"),
    ("BTC/USDT:USDT", "bitcoin miners sell"),
    ("ETH/USD", "Ethereum upgrade ships"),
    ("ETH/USD", "Ether slides 5%"),
    ("ETH/USD", "ETH staking grows"),
    ("ETH/USDT:USDT", "$ETH funding flips negative"),
    ("SOL/USD", "Solana outage"),
    ("SOL/USD", "SOL breaks out"),
    ("XRP/USD", "Ripple wins its case against the SEC"),
    ("BCH/USD", "Bitcoin Cash forks again"),
    ("BTC/USD", "Bitcoin, Ethereum & Litecoin - American Wrap"),
    ("AAPL", "$AAPL beats on revenue"),
    ("AAPL", "$aapl gaps up"),
])
def test_relevance_matches(symbol: str, text: str) -> None:
    assert RelevanceFilter().is_relevant(symbol, hl(text))


@pytest.mark.parametrize("symbol,text", [
    ("ETH/USD", "Whether the Fed cuts, nobody knows"),  # 'ether' inside a word
    ("ETH/USD", "Tether mints more USDT"),
    ("ETH/USD", "Bitcoin rallies"),
    ("BTC/USD", "Ethereum upgrade ships"),
    ("BTC/USD", "bitcoinist.com launches a podcast"),
    ("SOL/USD", "sol y sombra"),  # bare ticker that is a word must be in capitals
    ("XRP/USD", "Fed stress test has ripple effects in repo"),
    ("BTC/USD", "Bitcoin Cash forks again"),  # another asset
    ("BTC/USD", "Latest Bitcoin SV price and analysis"),
    ("AAPL", "Apple unveils a phone"),  # equities: cashtag only by default
    ("AAPL", "$AAPLX fund flows"),
])
def test_relevance_rejects(symbol: str, text: str) -> None:
    assert not RelevanceFilter().is_relevant(symbol, hl(text))


def test_relevance_tags_win_over_text_and_extra_aliases() -> None:
    rf = RelevanceFilter(extra_aliases={"AAPL": ("apple",)})
    tagged = hl("Bitcoin and ether rally", symbols=("ETH",))
    assert rf.match("ETH/USD", tagged) == "tag ETH"
    assert rf.match("BTC/USD", tagged) is None  # tagged for ETH only, although the text says Bitcoin
    assert rf.match("AAPL", hl("Apple unveils a phone")) == "Apple"
    assert [why for _, why in rf.select("BTC/USD", [hl("BTC up"), hl("gold up"), hl("Bitcoin down")])] == \
        ["BTC", "Bitcoin"]


def test_base_asset() -> None:
    assert base_asset("BTC/USD") == "BTC"
    assert base_asset("ETH/USDT:USDT") == "ETH"
    assert base_asset("$aapl") == "AAPL"
    with pytest.raises(ValueError):
        base_asset("/USD")


# ---------------------------------------------------------------- decay

def test_age_weight_halves_each_half_life() -> None:
    hl6 = timedelta(hours=6)
    assert age_weight(T0, T0, hl6) == 1.0
    assert age_weight(T0 - hl6, T0, hl6) == pytest.approx(0.5)
    assert age_weight(T0 - 2 * hl6, T0, hl6) == pytest.approx(0.25)
    assert age_weight(T0 - hl6, T0, timedelta(hours=2)) == pytest.approx(0.125)  # half-life is configurable


def test_age_weight_future_and_too_old_weigh_nothing() -> None:
    hl6 = timedelta(hours=6)
    assert age_weight(T0 + timedelta(seconds=1), T0, hl6) == 0.0  # no look-ahead
    assert age_weight(T0 - timedelta(hours=49), T0, hl6, max_age=timedelta(hours=48)) == 0.0
    assert age_weight(T0 - timedelta(hours=47), T0, hl6, max_age=timedelta(hours=48)) > 0.0


def test_age_weight_rejects_naive_times_and_bad_half_life() -> None:
    with pytest.raises(ValueError):
        age_weight(T0.replace(tzinfo=None), T0, timedelta(hours=1))
    with pytest.raises(ValueError):
        age_weight(T0, T0, timedelta(0))


# ---------------------------------------------------------------- divergence

def test_divergence_flags_bullish_news_on_falling_price() -> None:
    d = divergence(0.8, -0.04)
    assert d.flag and d.kind == "bullish_news_falling_price"
    assert d.momentum < -0.9 and d.value == pytest.approx((0.8 - d.momentum) / 2)


def test_divergence_flags_bearish_news_on_rising_price() -> None:
    d = divergence(-0.6, 0.03)
    assert d.flag and d.kind == "bearish_news_rising_price" and d.value < 0


@pytest.mark.parametrize("sentiment,ret", [(0.8, 0.04), (-0.8, -0.04), (0.05, -0.04), (0.8, -0.0005), (0.0, 0.0)])
def test_divergence_not_flagged_when_aligned_or_weak(sentiment: float, ret: float) -> None:
    d = divergence(sentiment, ret)
    assert not d.flag and d.kind == "none"
    assert -1.0 <= d.value <= 1.0


def test_divergence_threshold_is_configurable() -> None:
    assert divergence(0.4, -0.01).flag  # value (0.4 + 0.46) / 2 = 0.43
    assert not divergence(0.4, -0.01, DivergenceConfig(threshold=0.6)).flag
    assert not divergence(0.4, -0.01, DivergenceConfig(return_scale=0.1)).flag  # 1 % is weak at a 10 % scale
    # far apart but pointing the same way is not a divergence, whatever the threshold
    aligned = divergence(1.0, 0.005, DivergenceConfig(threshold=0.3))
    assert aligned.value > 0.3 and not aligned.flag


def test_recent_return() -> None:
    closes = [100.0, 101.0, 102.0, 110.0]
    assert recent_return(closes, 3) == pytest.approx(0.10)
    assert recent_return(closes, 1) == pytest.approx(110 / 102 - 1)
    assert recent_return(closes, 4) is None
    assert recent_return([0.0, 1.0], 1) is None


# ---------------------------------------------------------------- lexicon

@pytest.mark.parametrize("text,label", [
    ("Bitcoin surges to record high as ETF inflows jump", POS),
    ("Starbucks upgraded to overweight at J.P. Morgan", POS),
    ("Newmont stock price target raised to $41.50 from $39.50", POS),
    ("$DKS - Dick's Sporting Goods +2% after BAML upgrade https://t.co/e8IUnAUiuk", POS),
    ("Ether plunges as exchange hack sparks selloff", NEG),
    ("AT&T shares sink after MoffettNathanson downgrade", NEG),
    ("Kellogg -6% after profit outlook disappoints", NEG),
    ("$ESS: BTIG Research cuts to Neutral", NEG),
    ("Marcus & Millichap to Report Fourth Quarter 2019 Financial Results on Thursday", NEU),
    ("Bank of Mexico makes fifth consecutive rate cut", NEU),
])
def test_lexicon_labels(text: str, label: SentimentLabel) -> None:
    s = LexiconScorer().score_one(text)
    assert s.label is label, (text, s)
    assert -1.0 <= s.score <= 1.0


def test_lexicon_negation_flips() -> None:
    lex = LexiconScorer()
    assert lex.score_one("Analysts are bullish on bitcoin").score > 0.3
    assert lex.score_one("Analysts are not bullish on bitcoin").score < -0.3
    assert lex.score_one("Bitcoin did not fall").score > 0
    assert lex.score_one("Bitcoin didn't fall").score > 0
    assert lex.score_one("No recession this year").score > 0
    assert lex.score_one("Ether fails to rally").score < 0
    # negation reaches three tokens, not the whole sentence
    assert lex.score_one("Not a word about it from the desk, bitcoin rallies").score > 0
    # "never been more bullish" intensifies rather than negates
    assert lex.score_one("Hedge funds have never been more bullish on bitcoin").score > 0.5


def test_lexicon_tokenize_drops_urls_handles_and_cashtags() -> None:
    assert tokenize("$BTC +5% today via @desk https://t.co/x #crypto") == ["+%", "today", "via"]
    assert tokenize("Ether -3.5% on the day") == ["ether", "-%", "on", "the", "day"]


def test_lexicon_is_deterministic_and_bounded() -> None:
    lex = LexiconScorer()
    text = "surge soar rally jump record high upgrade beats " * 20
    a, b = lex.score([text, ""]), lex.score([text, ""])
    assert a == b
    assert 0.99 < a[0].score <= 1.0
    assert a[1] == SentimentScore(NEU, 0.0, 0.0)


# ---------------------------------------------------------------- aggregation

CFG = SentimentConfig(half_life=timedelta(hours=6), max_age=timedelta(hours=48), prior_weight=1.0)


def items(*pairs: tuple[str, timedelta]) -> list:
    sc = FixedScorer()
    return [(hl(t, a), "test", s) for (t, a), s in zip(pairs, sc.score([t for t, _ in pairs]))]


def test_aggregate_no_headlines_is_neutral_five() -> None:
    c = aggregate("BTC/USD", T0, [], CFG, "fixed")
    assert c.value == 5.0 and c.score == 0.0 and c.headlines_used == 0 and c.divergence is None
    assert "no BTC headlines" in c.reason


def test_aggregate_math_decay_and_prior() -> None:
    assert aggregate("BTC/USD", T0, items(("+", timedelta(0))), CFG, "f").value == pytest.approx(7.5)
    one_half_life = aggregate("BTC/USD", T0, items(("+", timedelta(hours=6))), CFG, "f")
    assert one_half_life.value == pytest.approx(5 + 5 * 0.5 / 1.5)
    assert one_half_life.weight_total == pytest.approx(0.5)
    # a fresh bearish headline outweighs an older bullish one
    mixed = aggregate("BTC/USD", T0, items(("+", timedelta(hours=12)), ("-", timedelta(0))), CFG, "f")
    assert mixed.value < 5.0 and mixed.headlines_used == 2
    assert mixed.top[0].score == -1.0  # heaviest first


def test_aggregate_bounds_and_drops_stale_or_future() -> None:
    many_pos = aggregate("ETH/USD", T0, items(*[("+", timedelta(0))] * 200), CFG, "f")
    many_neg = aggregate("ETH/USD", T0, items(*[("-", timedelta(0))] * 200), CFG, "f")
    assert 9.9 < many_pos.value <= 10.0 and 0.0 <= many_neg.value < 0.1
    dropped = aggregate("ETH/USD", T0, items(("+", timedelta(hours=49)), ("+", -timedelta(minutes=1))), CFG, "f")
    assert dropped.value == 5.0 and dropped.headlines_used == 0


def test_aggregate_reports_divergence() -> None:
    c = aggregate("BTC/USD", T0, items(*[("+", timedelta(0))] * 5), CFG, "f", price_return=-0.05)
    assert c.divergence is not None and c.divergence.flag
    assert "divergence" in c.reason and "bullish news, falling price" in c.reason
    assert c.details()["sentiment_divergence_flag"] is True and c.details()["sentiment_headlines"] == 5


def test_aggregate_needs_aware_now() -> None:
    with pytest.raises(ValueError):
        aggregate("BTC/USD", T0.replace(tzinfo=None), [], CFG, "f")


def _ctx(symbol: str, closes: list[float]) -> SymbolContext:
    n = len(closes)
    c = np.asarray(closes, dtype=float)
    t = (int(T0.timestamp()) - 300 * n + np.arange(n) * 300).astype(np.int64)
    candles = Candles(symbol, "5m", t, c, c, c, c, np.ones(n))
    return SymbolContext(symbol=symbol, now=T0, candles={"5m": candles}, base_timeframe="5m", position=None,
                         allow_short=False)


def test_service_filters_scores_once_and_uses_context() -> None:
    source = InMemoryHeadlineSource([
        hl("Bitcoin + adoption", timedelta(hours=1)),
        hl("Gold + record", timedelta(hours=1)),  # not about BTC
        hl("BTC + again", timedelta(hours=100)),  # too old
        hl("BTC + tomorrow", -timedelta(hours=1)),  # future: not visible yet
    ])
    scorer = FixedScorer()
    svc = SentimentService(source, scorer, CFG)
    closes = [100.0] * 20 + [95.0]  # -5 % over the lookback
    a = svc.component_for(_ctx("BTC/USD", closes))
    b = svc.component("BTC/USD", T0, closes)
    assert a == b and a.headlines_used == 1 and a.value > 5
    assert a.divergence is not None and a.divergence.price_return == pytest.approx(-0.05)
    assert scorer.scored == ["Bitcoin + adoption"]  # scored once, not once per call; gold never scored
    assert svc.component("ETH/USD", T0).value == 5.0


def test_service_from_config_uses_factory() -> None:
    svc = SentimentService.from_config(SentimentConfig(scorer="lexicon"), InMemoryHeadlineSource([]))
    assert svc.scorer.name == "lexicon" and "lexicon" in svc.scorer_reason


# ---------------------------------------------------------------- headline source

def test_csv_source_reads_times_symbols_and_windows(tmp_path: Path) -> None:
    p = tmp_path / "h.csv"
    p.write_text("text,published_at,symbols,label\n"
                 "Bitcoin rallies,2025-03-01T10:00:00Z,BTC/USD,1\n"
                 "Ether slides,2025-03-01T11:00:00+01:00,ETH;SOL,0\n"
                 "Late news,2025-03-01T13:00:00,,2\n", encoding="utf-8")
    src = CsvHeadlineSource(p)
    got = src.headlines(T0 - timedelta(hours=3), T0)
    assert [h.text for h in got] == ["Bitcoin rallies", "Ether slides"]  # sorted by time, no look-ahead
    assert got[0].symbols == ("BTC",) and got[1].symbols == ("ETH", "SOL")
    assert got[1].published_at == datetime(2025, 3, 1, 10, 0, tzinfo=timezone.utc)
    assert src.headlines(T0, T0 + timedelta(hours=1))[0].published_at.tzinfo is not None
    assert got[0].source == "h.csv"


def test_csv_source_places_undated_rows_deterministically(tmp_path: Path) -> None:
    p = tmp_path / "u.csv"
    p.write_text("text,label\nfirst,1\nsecond,0\nthird,2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="undated_anchor"):
        CsvHeadlineSource(p)
    src = CsvHeadlineSource(p, undated_anchor=T0, undated_step=timedelta(minutes=10))
    got = src.headlines(T0, T0 + timedelta(hours=1))
    assert [(h.text, h.published_at) for h in got] == [
        ("first", T0), ("second", T0 + timedelta(minutes=10)), ("third", T0 + timedelta(minutes=20))]


def test_csv_source_rejects_bad_files(tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_text("title\nx\n", encoding="utf-8")
    with pytest.raises(ValueError, match="'text' column"):
        CsvHeadlineSource(p)
    p.write_text("text,published_at\nx,yesterday\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad published_at"):
        CsvHeadlineSource(p)


def test_bundled_headlines_load_as_offline_source() -> None:
    src = CsvHeadlineSource(VALID, undated_anchor=T0, undated_step=timedelta(minutes=30))
    assert len(src) == 2388
    svc = SentimentService(src, LexiconScorer(), SentimentConfig(max_age=timedelta(days=60)))
    c = svc.component("ETH/USD", T0 + timedelta(days=50))
    assert c.headlines_used >= 1 and 0.0 <= c.value <= 10.0


# ---------------------------------------------------------------- factory

def test_factory_lexicon_when_asked() -> None:
    choice = make_scorer(SentimentConfig(scorer="lexicon", model="/anything"))
    assert choice.name == "lexicon" and isinstance(choice.scorer, LexiconScorer)
    assert "TB_SENTIMENT_SCORER=lexicon" in choice.reason


def test_factory_auto_without_model_falls_back_with_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(factory_mod, "transformers_missing", lambda: None)
    choice = make_scorer(SentimentConfig(scorer="auto", model=""))
    assert choice.name == "lexicon" and "no model configured" in choice.reason


def test_factory_auto_without_transformers_falls_back(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    monkeypatch.setattr(factory_mod, "transformers_missing", lambda: "transformers not installed")
    choice = make_scorer(SentimentConfig(scorer="auto", model=str(tmp_path)))
    assert choice.name == "lexicon" and "transformers not installed" in choice.reason


def test_factory_auto_with_bad_model_paths_falls_back(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(factory_mod, "transformers_missing", lambda: None)
    missing = make_scorer(SentimentConfig(model=str(tmp_path / "nope")))
    assert missing.name == "lexicon" and "does not exist" in missing.reason
    empty = make_scorer(SentimentConfig(model=str(tmp_path)))
    assert empty.name == "lexicon" and "no config.json" in empty.reason


def test_factory_picks_finbert_with_model_dir_without_loading(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    monkeypatch.setattr(factory_mod, "transformers_missing", lambda: None)
    built: list[str] = []

    def fake_finbert(ref: str) -> FixedScorer:
        built.append(ref)
        return FixedScorer(name="finbert")

    choice = make_scorer(SentimentConfig(scorer="auto", model=str(tmp_path)), finbert=fake_finbert)
    assert choice.name == "finbert" and str(tmp_path) in choice.reason
    assert built == [str(tmp_path)]


def test_factory_finbert_required_but_unavailable_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(factory_mod, "transformers_missing", lambda: "torch not installed")
    with pytest.raises(SentimentUnavailable, match="torch not installed"):
        make_scorer(SentimentConfig(scorer="finbert", model="/models/finbert"))


def test_config_validation_and_from_settings() -> None:
    with pytest.raises(ValueError):
        SentimentConfig(scorer="vader")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        SentimentConfig(half_life=timedelta(0))

    class S:
        sentiment_scorer = "lexicon"
        sentiment_model = None
        sentiment_half_life_hours = 3
        sentiment_momentum_lookback = 24

    cfg = SentimentConfig.from_settings(S())
    assert cfg.scorer == "lexicon" and cfg.model == "" and cfg.half_life == timedelta(hours=3)
    assert cfg.divergence.lookback == 24 and cfg.max_age == timedelta(hours=48)


# ---------------------------------------------------------------- label mapping (pure, no torch)

def test_map_labels_by_name_not_index() -> None:
    assert map_labels({0: "positive", 1: "negative", 2: "neutral"}) == (POS, NEG, NEU)
    assert map_labels({"0": "Bearish", "1": "Bullish", "2": "Neutral"}) == (NEG, POS, NEU)
    with pytest.raises(ModelLabelError):
        map_labels({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"})
    with pytest.raises(ModelLabelError):
        map_labels({0: "positive", 1: "neutral"})


def test_sentiment_score_validates_range() -> None:
    with pytest.raises(ValueError):
        SentimentScore(POS, 1.5, 0.5)


# ---------------------------------------------------------------- evaluation

def test_evaluate_counts_confusion() -> None:
    rows = [("Bitcoin surges", POS), ("Bitcoin plunges", NEG), ("Bitcoin conference on Monday", NEU),
            ("Bitcoin conference on Tuesday", POS)]
    ev = evaluate(LexiconScorer(), rows)
    assert ev.n == 4 and ev.accuracy == pytest.approx(0.75)
    assert ev.confusion[POS][NEU] == 1 and ev.recall[POS] == pytest.approx(0.5)
    assert ev.majority_label is POS and ev.majority_accuracy == pytest.approx(0.5)


def test_lexicon_beats_majority_baseline_on_held_out_valid(capsys: pytest.CaptureFixture[str]) -> None:
    ev = evaluate(LexiconScorer(), load_labelled(VALID))
    assert ev.n == 2388
    assert ev.majority_label is NEU and ev.majority_accuracy == pytest.approx(1566 / 2388)
    assert ev.accuracy > ev.majority_accuracy + 0.07  # measured 0.757 vs 0.656 (docs/signals.md, Sentiment)
    assert min(ev.recall.values()) > 0.55
    assert evaluate_main([str(VALID)]) == 0
    assert "accuracy: 0.7571" in capsys.readouterr().out
