"""Market state of one symbol in one cycle: regime, volatility, trend strength, calendar, levels, funding, risk."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from shared.signals.base import SymbolContext
from shared.signals.config import SignalsConfig, StateParams
from shared.signals.indicators import Features, percentile_rank, trend_direction
from shared.signals.regime import (Regime, RegimeTracker, TrendStrength, VolatilityLevel, classify_raw,
                                   trend_strength, volatility_level)

__all__ = [
    "DayType", "MarketState", "Regime", "RegimeTracker", "RiskState", "Session", "TrendStrength", "VolatilityLevel",
    "WeekPhase", "build_market_state", "calendar_of", "find_contradiction", "risk_state", "session_of",
    "timeframe_trends",
]


class Session(str, Enum):
    ASIA = "ASIA"
    LONDON = "LONDON"
    OVERLAP = "OVERLAP"  # London and New York both open
    NY = "NY"


class DayType(str, Enum):
    WEEKDAY = "WEEKDAY"
    WEEKEND = "WEEKEND"


class WeekPhase(str, Enum):
    START = "START"  # Mon, Tue
    MID = "MID"  # Wed, Thu
    END = "END"  # Fri, Sat, Sun


class RiskState(str, Enum):
    SAFE = "SAFE"
    CAUTION = "CAUTION"
    DANGER = "DANGER"


# (first UTC hour, hours long, session); ASIA wraps midnight (Sydney opens ~21:00, Tokyo closes ~07:00).
_SESSIONS = ((21, 10, Session.ASIA), (7, 5, Session.LONDON), (12, 4, Session.OVERLAP), (16, 5, Session.NY))


def _utc(ts: datetime) -> datetime:
    # A naive time is UTC by convention here; astimezone() would read it as the host's local time.
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


def session_of(now: datetime) -> tuple[Session, str]:
    """(session, time window label) from the UTC hour; the label is `<session>_open|mid|late` (first/last hour)."""
    hour = _utc(now).hour
    for start, length, session in _SESSIONS:
        into = (hour - start) % 24
        if into < length:
            part = "open" if into == 0 else "late" if into == length - 1 else "mid"
            return session, f"{session.value}_{part}"
    raise AssertionError("session table does not cover 24 hours")  # pragma: no cover


def calendar_of(now: datetime) -> tuple[DayType, WeekPhase]:
    wd = _utc(now).weekday()  # Monday = 0
    day = DayType.WEEKEND if wd >= 5 else DayType.WEEKDAY
    phase = WeekPhase.START if wd <= 1 else WeekPhase.MID if wd <= 3 else WeekPhase.END
    return day, phase


def risk_state(drawdown_pct: float, p: StateParams) -> RiskState:
    """SAFE below drawdown_caution_pct, DANGER from drawdown_danger_pct, CAUTION between."""
    dd = abs(drawdown_pct)  # callers may sign drawdown either way; its size is what matters
    if dd >= p.drawdown_danger_pct:
        return RiskState.DANGER
    if dd >= p.drawdown_caution_pct:
        return RiskState.CAUTION
    return RiskState.SAFE


def find_contradiction(regime: Regime, volatility: VolatilityLevel, strength: TrendStrength, direction: int,
                       close: float, ema_slow: float) -> str | None:
    """Why this state contradicts itself, or None. A contradicted state must lead to WAIT.

    `direction` is this timeframe's EMA trend (+1/-1/0, see indicators.trend_direction).
    """
    if regime is Regime.SIDEWAYS_LOW_VOL and volatility is VolatilityLevel.HIGH:
        return "SIDEWAYS_LOW_VOL with HIGH volatility"
    if regime is Regime.SIDEWAYS_HIGH_VOL and volatility is VolatilityLevel.LOW:
        return "SIDEWAYS_HIGH_VOL with LOW volatility"
    if regime in (Regime.SIDEWAYS_LOW_VOL, Regime.SIDEWAYS_HIGH_VOL) and strength is TrendStrength.STRONG:
        return f"{regime.value} with a STRONG trend (ADX)"
    if regime is Regime.BULL_TREND:
        if strength is TrendStrength.WEAK and close < ema_slow:
            return "BULL_TREND with WEAK trend and price below the slow EMA"
        if direction < 0:
            return "BULL_TREND while EMAs and price point down"
    if regime is Regime.BEAR_TREND:
        if strength is TrendStrength.WEAK and close > ema_slow:
            return "BEAR_TREND with WEAK trend and price above the slow EMA"
        if direction > 0:
            return "BEAR_TREND while EMAs and price point up"
    return None


@dataclass(frozen=True, slots=True)
class MarketState:
    symbol: str
    at: datetime  # UTC market time of the cycle
    timeframe: str  # base timeframe the state was measured on
    close: float
    regime: Regime
    regime_confidence: float  # 0..1
    raw_regime: Regime  # this candle's evidence alone
    raw_confidence: float
    regime_reason: str
    transition_streak: int  # candles of consistent new evidence while in TRANSITION
    regime_age: int  # candles the confirmed regime has held
    volatility: VolatilityLevel
    atr_pct: float
    atr_percentile: float
    trend_strength: TrendStrength
    adx: float
    trend_direction: int  # +1/-1/0 on the base timeframe
    timeframe_trends: tuple[tuple[str, int], ...]  # (higher timeframe, direction)
    session: Session
    time_window: str
    day_type: DayType
    week_phase: WeekPhase
    key_level_timeframe: str
    key_high: float
    key_low: float
    dist_to_high_pct: float  # (high - close) / close * 100; negative above the high
    dist_to_low_pct: float  # (close - low) / close * 100; negative below the low
    funding_rate: float | None
    funding_extreme: bool
    drawdown_pct: float
    risk_state: RiskState
    contradiction: str | None

    def wait_reason(self) -> str | None:
        """Why no new trade may open this cycle, or None. Contradiction and TRANSITION force WAIT."""
        if self.contradiction:
            return f"contradiction: {self.contradiction}"
        if self.regime is Regime.TRANSITION:
            return (f"regime TRANSITION ({self.raw_regime.value} evidence, "
                    f"{self.transition_streak} candle(s)): {self.regime_reason}")
        if self.risk_state is RiskState.DANGER:
            return f"risk state DANGER (drawdown {abs(self.drawdown_pct):.1f}%)"
        return None

    def details(self) -> dict[str, Any]:
        """Flat, JSON-ready dict for the decision audit row."""
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, Enum):
                d[k] = v.value
        d["at"] = self.at.isoformat()
        d["timeframe_trends"] = dict(self.timeframe_trends)
        return d


def timeframe_trends(ctx: SymbolContext, cfg: SignalsConfig) -> tuple[tuple[str, int], ...]:
    """EMA direction on each configured higher timeframe present in ctx.candles (closed candles only)."""
    p = cfg.htf_indicators
    return tuple((tf, trend_direction(ctx.candles[tf], p))
                 for tf in cfg.confirm_timeframes(ctx.base_timeframe) if tf in ctx.candles)


def _key_levels(ctx: SymbolContext, cfg: SignalsConfig) -> tuple[str, float, float]:
    """High and low of the last key_level_lookback candles of the key-level timeframe (the base if absent)."""
    sp = cfg.state
    tf = sp.key_level_timeframe
    if tf is None:  # the highest confirmation timeframe served (confirm_timeframes is sorted ascending)
        tf = next((t for t in reversed(cfg.confirm_timeframes(ctx.base_timeframe)) if t in ctx.candles),
                  ctx.base_timeframe)
    c = ctx.candles.get(tf)
    if c is None or len(c) == 0:
        tf, c = ctx.base_timeframe, ctx.base
    if len(c) == 0:
        return tf, float("nan"), float("nan")
    return tf, float(c.high[-sp.key_level_lookback:].max()), float(c.low[-sp.key_level_lookback:].min())


def build_market_state(ctx: SymbolContext, features: Features, tracker: RegimeTracker, cfg: SignalsConfig,
                       trends: tuple[tuple[str, int], ...] | None = None) -> MarketState:
    """The state of ctx.symbol now. Feeds `tracker` once per new base candle; never reads the system clock.

    `features` must be compute_features(ctx.base, cfg.indicators); `trends` defaults to timeframe_trends(ctx, cfg).
    """
    rp, sp = cfg.regime, cfg.state
    n = len(features.candles)
    if n == 0:
        raise ValueError(f"{ctx.symbol}: no closed {ctx.base_timeframe} candles to build a market state from")
    close = float(features.candles.close[-1])
    ema_f, ema_s = float(features.ema_fast[-1]), float(features.ema_slow[-1])
    adx_v, hist = float(features.adx[-1]), float(features.macd_hist[-1])
    atr_pct = float(features.atr_pct[-1])
    pctl = percentile_rank(features.atr_pct, rp.vol_lookback)

    raw = classify_raw(close, ema_f, ema_s, hist, adx_v, pctl, rp, tracker.confirmed)
    status = tracker.update(raw.regime, int(features.candles.open_time[-1]))
    if status.regime is Regime.TRANSITION:
        # How sure we are that the symbol is between regimes: less so as new evidence keeps agreeing.
        conf = 1.0 - raw.confidence * min(1.0, status.streak / (tracker.confirm_cycles + 1))
    else:
        conf = raw.confidence

    vol = volatility_level(pctl, rp) if pctl == pctl else VolatilityLevel.NORMAL
    strength = trend_strength(adx_v, rp) if adx_v == adx_v else TrendStrength.WEAK
    direction = 1 if (ema_f > ema_s and close > ema_s) else -1 if (ema_f < ema_s and close < ema_s) else 0
    session, window = session_of(ctx.now)
    day, phase = calendar_of(ctx.now)
    level_tf, hi, lo = _key_levels(ctx, cfg)
    funding = ctx.funding_rate
    d_hi = (hi - close) / close * 100.0 if close else float("nan")
    d_lo = (close - lo) / close * 100.0 if close else float("nan")

    return MarketState(
        symbol=ctx.symbol, at=_utc(ctx.now), timeframe=ctx.base_timeframe, close=close,
        regime=status.regime, regime_confidence=conf, raw_regime=raw.regime, raw_confidence=raw.confidence,
        regime_reason=raw.reason, transition_streak=status.streak, regime_age=status.age,
        volatility=vol, atr_pct=atr_pct, atr_percentile=pctl, trend_strength=strength, adx=adx_v,
        trend_direction=direction, timeframe_trends=timeframe_trends(ctx, cfg) if trends is None else trends,
        session=session, time_window=window, day_type=day, week_phase=phase,
        key_level_timeframe=level_tf, key_high=hi, key_low=lo, dist_to_high_pct=d_hi, dist_to_low_pct=d_lo,
        funding_rate=funding, funding_extreme=funding is not None and abs(funding) >= sp.funding_extreme,
        drawdown_pct=ctx.drawdown_pct, risk_state=risk_state(ctx.drawdown_pct, sp),
        contradiction=find_contradiction(status.regime, vol, strength, direction, close, ema_s),
    )
