"""Quality, conviction and thresholds on worked examples (the arithmetic is in the comments)."""
from __future__ import annotations

import pytest

from shared.signals.config import (ConvictionParams, ConvictionWeights, QualityParams, QualityWeights, SignalsConfig,
                                   Thresholds)
from shared.signals.regime import Regime, VolatilityLevel
from shared.signals.scoring import (check_thresholds, conviction, momentum_score, regime_alignment_score, rsi_score,
                                    sentiment_score, signal_quality, timeframe_score, volume_score)

QP = QualityParams()  # weights 0.35/0.25/0.25/0.15, momentum_full_atr 3, volume_z_full 2, RSI ideal 55/30, width 25
CP = ConvictionParams()  # weights 0.40/0.25/0.15/0.20


def test_quality_long_trend_worked_example():
    # momentum: z = +0.6% / 0.4% = 1.5 ATRs -> 5 + 5*1.5/3 = 7.5
    # volume:   z = 1.0 -> 5 + 5*1/2 = 7.5
    # RSI:      60 vs ideal 55, width 25 -> 10 * (1 - 5/25) = 8
    # sentiment 7 (long) -> 7
    # quality = 0.35*7.5 + 0.25*7.5 + 0.25*8 + 0.15*7 = 2.625 + 1.875 + 2.0 + 1.05 = 7.55
    q = signal_quality(1, velocity_pct=0.6, atr_pct=0.4, volume_z=1.0, rsi_value=60, sentiment=7, p=QP)
    assert (q.momentum, q.volume, q.rsi, q.sentiment) == pytest.approx((7.5, 7.5, 8.0, 7.0))
    assert q.score == pytest.approx(7.55)


def test_quality_short_mirrors_long():
    # falling 0.6% is +1.5 ATRs for a short; RSI 40 mirrors to 60; sentiment 3 mirrors to 7 -> same 7.55
    q = signal_quality(-1, velocity_pct=-0.6, atr_pct=0.4, volume_z=1.0, rsi_value=40, sentiment=3, p=QP)
    assert (q.momentum, q.rsi, q.sentiment, q.score) == pytest.approx((7.5, 8.0, 7.0, 7.55))


def test_quality_reversion_long():
    # price fell 0.6% (-1.5 ATRs): for a reversion long the stretch counts +1.5 -> 7.5
    # RSI 35 vs reversion ideal 30 -> 10 * (1 - 5/25) = 8; volume z 0 -> 5; sentiment None -> 5
    # quality = 0.35*7.5 + 0.25*5 + 0.25*8 + 0.15*5 = 2.625 + 1.25 + 2.0 + 0.75 = 6.625
    q = signal_quality(1, velocity_pct=-0.6, atr_pct=0.4, volume_z=0.0, rsi_value=35, sentiment=None, p=QP,
                       style="reversion")
    assert (q.momentum, q.volume, q.rsi, q.sentiment) == pytest.approx((7.5, 5.0, 8.0, 5.0))
    assert q.score == pytest.approx(6.625)


def test_quality_custom_weights_are_normalised():
    # weights 2/0/0/2 -> (2*7.5 + 2*7) / 4 = 7.25
    p = QualityParams(weights=QualityWeights(momentum=2, volume=0, rsi=0, sentiment=2))
    q = signal_quality(1, 0.6, 0.4, 1.0, 60, 7, p)
    assert q.score == pytest.approx(7.25)


def test_component_clipping_and_missing_values():
    assert momentum_score(1, 3.0, 0.4, QP) == 10.0  # 7.5 ATRs, clipped
    assert momentum_score(1, -3.0, 0.4, QP) == 0.0
    assert momentum_score(1, float("nan"), 0.4, QP) == 5.0
    assert volume_score(-3.0, QP) == 0.0 and volume_score(float("nan"), QP) == 5.0
    assert rsi_score(1, 85, QP) == 0.0  # 30 from the ideal, beyond the width
    assert rsi_score(-1, 45, QP) == 10.0  # short: 100-45 = 55, the ideal
    assert sentiment_score(1, None) == 5.0 and sentiment_score(-1, 9.0) == pytest.approx(1.0)
    assert sentiment_score(1, 12.0) == 10.0
    with pytest.raises(ValueError):
        signal_quality(0, 0.6, 0.4, 1.0, 60, 7, QP)


def test_conviction_worked_example():
    # quality 7.55
    # regime: BULL, confidence 0.8, long, trend table with_trend 10 -> 5 + (10-5)*0.8 = 9
    # volatility NORMAL -> 10
    # timeframes: (+1, 0) -> 10 * (1 + 0.5) / 2 = 7.5, one agreeing
    # conviction = 0.40*7.55 + 0.25*9 + 0.15*10 + 0.20*7.5 = 3.02 + 2.25 + 1.5 + 1.5 = 8.27
    c = conviction(7.55, Regime.BULL_TREND, 0.8, VolatilityLevel.NORMAL, [1, 0], 1, CP)
    assert (c.quality, c.regime, c.volatility, c.timeframes) == pytest.approx((7.55, 9.0, 10.0, 7.5))
    assert (c.timeframes_agreeing, c.timeframes_considered) == (1, 2)
    assert c.score == pytest.approx(8.27)


def test_conviction_short_against_bull():
    # regime: against_trend 0 -> 5 + (0-5)*0.8 = 1; volatility HIGH -> 4; timeframes (+1, +1) for a short -> 0
    # conviction = 0.40*7.55 + 0.25*1 + 0.15*4 + 0.20*0 = 3.02 + 0.25 + 0.6 + 0 = 3.87
    c = conviction(7.55, Regime.BULL_TREND, 0.8, VolatilityLevel.HIGH, [1, 1], -1, CP)
    assert (c.regime, c.volatility, c.timeframes, c.score) == pytest.approx((1.0, 4.0, 0.0, 3.87))


def test_conviction_reversion_in_sideways_and_no_higher_timeframes():
    # reversion table: SIDEWAYS_LOW_VOL 10, confidence 0.6 -> 5 + 5*0.6 = 8; LOW volatility -> 5;
    # no higher timeframe -> neutral 5
    # conviction = 0.40*6 + 0.25*8 + 0.15*5 + 0.20*5 = 2.4 + 2.0 + 0.75 + 1.0 = 6.15
    c = conviction(6.0, Regime.SIDEWAYS_LOW_VOL, 0.6, VolatilityLevel.LOW, [], 1, CP, style="reversion")
    assert (c.regime, c.volatility, c.timeframes, c.score) == pytest.approx((8.0, 5.0, 5.0, 6.15))
    assert c.timeframes_considered == 0


def test_conviction_weights():
    # only quality and timeframes count, 1:1 -> (7.55 + 7.5) / 2 = 7.525
    p = ConvictionParams(weights=ConvictionWeights(quality=1, regime=0, volatility=0, timeframes=1))
    assert conviction(7.55, Regime.BULL_TREND, 0.8, VolatilityLevel.NORMAL, [1, 0], 1, p).score == pytest.approx(7.525)


def test_alignment_table_and_timeframes():
    assert regime_alignment_score(Regime.BEAR_TREND, 1.0, -1, CP) == 10.0
    assert regime_alignment_score(Regime.TRANSITION, 1.0, 1, CP) == 0.0
    assert regime_alignment_score(Regime.SIDEWAYS_HIGH_VOL, 0.5, 1, CP) == pytest.approx(4.5)  # 5 + (4-5)*0.5
    assert timeframe_score(-1, [-1, -1, 1]) == (pytest.approx(20 / 3), 2)


def test_thresholds_global_and_per_regime():
    cfg = SignalsConfig(regime_thresholds={Regime.SIDEWAYS_HIGH_VOL: Thresholds(min_signal_quality=7.0)})
    ok = check_thresholds(6.5, 6.0, Regime.BULL_TREND, cfg)  # globals 5 / 5
    assert ok.passed and (ok.min_signal_quality, ok.min_conviction_score) == (5.0, 5.0)
    no = check_thresholds(6.5, 6.0, Regime.SIDEWAYS_HIGH_VOL, cfg)
    assert not no.passed and no.min_signal_quality == 7.0 and no.min_conviction_score == 5.0
    assert no.reason == "quality 6.50 < 7 in SIDEWAYS_HIGH_VOL"
    # the global settings (TB_MIN_SIGNAL_QUALITY / TB_MIN_CONVICTION_SCORE) are passed in
    both = check_thresholds(6.5, 6.0, Regime.BULL_TREND, cfg, min_signal_quality=7, min_conviction_score=6.5)
    assert not both.passed and both.reason == "quality 6.50 < 7; conviction 6.00 < 6.5"
    assert check_thresholds(5.0, 5.0, Regime.BULL_TREND, cfg).passed  # >= is enough
    assert not check_thresholds(float("nan"), 9, Regime.BULL_TREND, cfg).passed


def test_config_is_strict_and_frozen():
    from pydantic import ValidationError
    with pytest.raises(ValidationError):
        SignalsConfig(regime={"adx_trendd": 20})
    with pytest.raises(ValidationError):
        SignalsConfig(indicators={"ema_fast": 30, "ema_slow": 20})
    with pytest.raises(ValidationError):
        SignalsConfig(higher_timeframes=("4x",))
    with pytest.raises(ValidationError):
        SignalsConfig(regime_thresholds={"SIDEWAYS": {"min_signal_quality": 6}})
    cfg = SignalsConfig.model_validate({"higher_timeframes": ["4h", "1h", "5m"],
                                        "regime_thresholds": {"BULL_TREND": {"min_conviction_score": 6}}})
    assert cfg.confirm_timeframes("5m") == ("1h", "4h") and cfg.confirm_timeframes("1h") == ("4h",)
    with pytest.raises(ValidationError):
        cfg.regime = None  # type: ignore[misc]
