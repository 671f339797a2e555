"""Age decay of a headline's weight: exponential with a half-life; `now` is always passed in."""
from __future__ import annotations

import math
from datetime import datetime, timedelta


def age_weight(published_at: datetime, now: datetime, half_life: timedelta,
               max_age: timedelta | None = None) -> float:
    """0.5 ** (age / half_life): 1.0 for a headline published at `now`, 0.5 one half-life later.

    A headline from the future (published after `now`) weighs 0: it cannot be known yet. A headline older
    than `max_age` weighs 0 too. Both times must be timezone-aware.
    """
    if published_at.tzinfo is None or now.tzinfo is None:
        raise ValueError("age_weight needs timezone-aware times (UTC)")
    if half_life <= timedelta(0):
        raise ValueError("half_life must be positive")
    age = now - published_at
    if age < timedelta(0):
        return 0.0
    if max_age is not None and age > max_age:
        return 0.0
    return math.pow(0.5, age / half_life)
