"""The `signals` section of a profile: indicator periods, regime rules, score weights, thresholds, timeframes.

Strategy gating and aggregation have their own models (shared.signals.gating.GatingConfig,
shared.signals.aggregation.AggregationConfig) next to the code that uses them.

Parsed once at start (extra keys are errors, models are frozen); the signal code receives these objects, never dicts.
"""
from __future__ import annotations

from typing import Annotated

from pydantic import Field, PrivateAttr, field_validator, model_validator

from shared.config.strict import StrictModel
from shared.market.timeframes import timeframe_seconds
from shared.signals.regime import Regime


class IndicatorParams(StrictModel):
    """Periods in candles of the timeframe the indicator runs on."""

    ema_fast: int = Field(9, ge=2, le=500)
    ema_slow: int = Field(21, ge=3, le=1000)
    rsi_period: int = Field(14, ge=2, le=200)
    macd_fast: int = Field(12, ge=2, le=200)
    macd_slow: int = Field(26, ge=3, le=400)
    macd_signal: int = Field(9, ge=2, le=200)
    bb_period: int = Field(20, ge=2, le=500)
    bb_k: float = Field(2.0, gt=0, le=5)
    atr_period: int = Field(14, ge=2, le=200)
    adx_period: int = Field(14, ge=2, le=200)
    volume_period: int = Field(20, ge=2, le=500)
    velocity_period: int = Field(10, ge=1, le=500)

    @model_validator(mode="after")
    def _ordered(self) -> "IndicatorParams":
        if self.ema_fast >= self.ema_slow:
            raise ValueError(f"ema_fast ({self.ema_fast}) must be shorter than ema_slow ({self.ema_slow})")
        if self.macd_fast >= self.macd_slow:
            raise ValueError(f"macd_fast ({self.macd_fast}) must be shorter than macd_slow ({self.macd_slow})")
        return self


class RegimeParams(StrictModel):
    """Regime classification, volatility and trend-strength buckets, and the TRANSITION window."""

    adx_trend: float = Field(25.0, gt=0, lt=100, description="ADX at or above which a new trend regime may start")
    adx_trend_exit: float = Field(18.0, gt=0, lt=100, description="a confirmed trend holds while ADX stays at or above this")
    adx_moderate: float = Field(20.0, gt=0, lt=100, description="trend strength: WEAK below, MODERATE from here")
    adx_strong: float = Field(40.0, gt=0, lt=100, description="trend strength: STRONG from here")
    vol_lookback: int = Field(200, ge=20, le=5000, description="candles over which the ATR% percentile is ranked")
    vol_low_pct: float = Field(30.0, ge=0, le=100, description="ATR% percentile below which volatility is LOW")
    vol_high_pct: float = Field(70.0, ge=0, le=100, description="ATR% percentile above which volatility is HIGH")
    confirm_cycles: int = Field(3, ge=1, le=100, description="TRANSITION lasts at least this many cycles of consistent evidence")

    @model_validator(mode="after")
    def _ordered(self) -> "RegimeParams":
        if not self.adx_trend_exit <= self.adx_trend:
            raise ValueError(f"adx_trend_exit ({self.adx_trend_exit}) must not exceed adx_trend ({self.adx_trend})")
        if not self.adx_moderate < self.adx_strong:
            raise ValueError(f"adx_moderate ({self.adx_moderate}) must be below adx_strong ({self.adx_strong})")
        if not self.vol_low_pct < self.vol_high_pct:
            raise ValueError(f"vol_low_pct ({self.vol_low_pct}) must be below vol_high_pct ({self.vol_high_pct})")
        return self


class StateParams(StrictModel):
    """The non-regime parts of market state: key levels, funding, risk state."""

    key_level_timeframe: str | None = Field(None, description="timeframe of the key high/low; None = highest configured")
    key_level_lookback: int = Field(20, ge=1, le=1000, description="candles of that timeframe the high/low spans")
    funding_extreme: float = Field(0.0005, gt=0, le=0.05, description="|funding rate| per interval at or above which it is extreme")
    drawdown_caution_pct: float = Field(5.0, gt=0, le=100)
    drawdown_danger_pct: float = Field(10.0, gt=0, le=100)

    @field_validator("key_level_timeframe")
    @classmethod
    def _tf(cls, v: str | None) -> str | None:
        if v is not None:
            timeframe_seconds(v)
        return v

    @model_validator(mode="after")
    def _ordered(self) -> "StateParams":
        if not self.drawdown_caution_pct < self.drawdown_danger_pct:
            raise ValueError(f"drawdown_caution_pct ({self.drawdown_caution_pct}) must be below "
                             f"drawdown_danger_pct ({self.drawdown_danger_pct})")
        return self


class QualityWeights(StrictModel):
    momentum: float = Field(0.35, ge=0)
    volume: float = Field(0.25, ge=0)
    rsi: float = Field(0.25, ge=0)
    sentiment: float = Field(0.15, ge=0)

    @model_validator(mode="after")
    def _some(self) -> "QualityWeights":
        if self.momentum + self.volume + self.rsi + self.sentiment <= 0:
            raise ValueError("at least one quality weight must be positive")
        return self


class QualityParams(StrictModel):
    weights: QualityWeights = QualityWeights()
    momentum_full_atr: float = Field(3.0, gt=0, description="a move of this many ATRs in the trade's direction scores 10")
    volume_z_full: float = Field(2.0, gt=0, description="a volume z-score of +this scores 10 (and -this scores 0)")
    rsi_trend_ideal: float = Field(55.0, ge=0, le=100, description="RSI (mirrored for shorts) that scores 10 for trend setups")
    rsi_reversion_ideal: float = Field(30.0, ge=0, le=100, description="RSI (mirrored for shorts) that scores 10 for reversion setups")
    rsi_width: float = Field(25.0, gt=0, le=100, description="RSI distance from the ideal at which the RSI score reaches 0")


class ConvictionWeights(StrictModel):
    quality: float = Field(0.40, ge=0)
    regime: float = Field(0.25, ge=0)
    volatility: float = Field(0.15, ge=0)
    timeframes: float = Field(0.20, ge=0)

    @model_validator(mode="after")
    def _some(self) -> "ConvictionWeights":
        if self.quality + self.regime + self.volatility + self.timeframes <= 0:
            raise ValueError("at least one conviction weight must be positive")
        return self


Score = Annotated[float, Field(ge=0, le=10)]


class RegimeAlignment(StrictModel):
    """Score 0..10 of a setup in each regime; `with_trend` = BULL for a long, BEAR for a short."""

    with_trend: Score
    against_trend: Score
    sideways_low_vol: Score
    sideways_high_vol: Score
    transition: Score


class VolatilitySuitability(StrictModel):
    low: Score = 5.0
    normal: Score = 10.0
    high: Score = 4.0


class ConvictionParams(StrictModel):
    weights: ConvictionWeights = ConvictionWeights()
    alignment_trend: RegimeAlignment = RegimeAlignment(
        with_trend=10, against_trend=0, sideways_low_vol=5, sideways_high_vol=4, transition=0)
    alignment_reversion: RegimeAlignment = RegimeAlignment(
        with_trend=6, against_trend=2, sideways_low_vol=10, sideways_high_vol=6, transition=0)
    volatility: VolatilitySuitability = VolatilitySuitability()


class Thresholds(StrictModel):
    """Per-regime overrides of TB_MIN_SIGNAL_QUALITY / TB_MIN_CONVICTION_SCORE; None keeps the global value."""

    min_signal_quality: float | None = Field(None, ge=0, le=10)
    min_conviction_score: float | None = Field(None, ge=0, le=10)


class SignalsConfig(StrictModel):
    """Everything the signal library reads from a profile's `signals:` section."""

    higher_timeframes: tuple[str, ...] = Field(("1h", "4h"), description="confirmation timeframes; those not above base are skipped")
    indicators: IndicatorParams = IndicatorParams()
    higher_tf_indicators: IndicatorParams | None = Field(None, description="periods on higher timeframes; None = same as base")
    regime: RegimeParams = RegimeParams()
    state: StateParams = StateParams()
    quality: QualityParams = QualityParams()
    conviction: ConvictionParams = ConvictionParams()
    regime_thresholds: dict[Regime, Thresholds] = Field(default_factory=dict)
    _confirm: dict[str, tuple[str, ...]] = PrivateAttr(default_factory=dict)  # memo: base timeframe -> answer

    @field_validator("higher_timeframes")
    @classmethod
    def _tfs(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for tf in v:
            timeframe_seconds(tf)
        return tuple(sorted(set(v), key=timeframe_seconds))

    def confirm_timeframes(self, base_timeframe: str) -> tuple[str, ...]:
        """The configured higher timeframes that are above the base one and a whole multiple of it."""
        got = self._confirm.get(base_timeframe)
        if got is None:
            b = timeframe_seconds(base_timeframe)
            got = tuple(tf for tf in self.higher_timeframes if (s := timeframe_seconds(tf)) > b and s % b == 0)
            self._confirm[base_timeframe] = got
        return got

    @property
    def htf_indicators(self) -> IndicatorParams:
        return self.higher_tf_indicators or self.indicators
