"""Builds the signal engine an agent uses (the full library replaces the placeholder here)."""
from __future__ import annotations

from shared.config.profiles import Profile
from shared.config.settings import Settings
from shared.signals.base import SignalEngine
from shared.signals.ema_cross import EmaCrossEngine


def build_signal_engine(market: str, profile: Profile, settings: Settings) -> SignalEngine:
    return EmaCrossEngine(profile.signal)
