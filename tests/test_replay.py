"""The replay feed never shows a candle that has not closed on the sim clock."""
from __future__ import annotations

import numpy as np

from shared.clock import ReplayClock
from shared.market.candles import resample
from shared.market.replay import ReplayFeed
from tests.helpers import T0, at, candles

M5 = 300


def five_minute_feed(n: int = 48) -> ReplayFeed:
    bars = [(100 + i, 101 + i, 99 + i, 100.5 + i) for i in range(n)]
    return ReplayFeed({"X/USD": candles("X/USD", bars, "5m")})


def test_only_closed_candles_are_served():
    feed = five_minute_feed()
    # at 00:12:00 candles opening 00:00 and 00:05 have closed; the one opening 00:10 has not
    c = feed.candles("X/USD", at(T0 + 12 * 60), lookback=100)
    assert list(c.open_time - T0) == [0, 300]
    # exactly at a close the candle counts as closed
    assert len(feed.candles("X/USD", at(T0 + 15 * 60), lookback=100)) == 3
    assert len(feed.candles("X/USD", at(T0 + 15 * 60 - 1), lookback=100)) == 2


def test_higher_timeframe_drops_the_open_bucket():
    feed = five_minute_feed()
    # at 01:50 the 00:00-01:00 hour has closed, the 01:00-02:00 hour has not
    hourly = feed.candles("X/USD", at(T0 + 110 * 60), lookback=10, timeframe="1h")
    assert list(hourly.open_time - T0) == [0]
    assert hourly.open[0] == 100 and hourly.close[0] == 100.5 + 11
    assert hourly.high[0] == 101 + 11 and hourly.low[0] == 99
    assert hourly.volume[0] == 12
    at_close = feed.candles("X/USD", at(T0 + 120 * 60), lookback=10, timeframe="1h")
    assert list(at_close.open_time - T0) == [0, 3600]


def test_resample_matches_a_hand_aggregation():
    c = candles("X", [(1, 5, 0.5, 2), (2, 6, 1.5, 3), (3, 4, 1, 1), (1, 2, 0.1, 1.5)], "5m")
    r = resample(c, "10m")
    assert list(r.open) == [1, 3] and list(r.high) == [6, 4] and list(r.low) == [0.5, 0.1] and list(r.close) == [3, 1.5]


def test_replay_clock_runs_at_its_rate_from_its_anchor():
    wall = [1000.0]
    clock = ReplayClock(at(T0), wall_epoch=1000.0, rate=1800.0, wall=lambda: wall[0])
    wall[0] = 1002.0
    assert clock.now() == at(T0 + 3600)


def test_bundled_data_is_real_and_sorted():
    from shared.config.settings import PROJECT_ROOT
    from shared.market.universe import load_universe

    for agent in ("hybrid", "futures"):
        uni = load_universe(PROJECT_ROOT / "config" / "universe.yaml", agent)
        feed = ReplayFeed.from_universe(uni, PROJECT_ROOT / "data")
        for sym in feed.symbols:
            c = feed.history(sym)
            assert len(c) > 5000 and np.all(np.diff(c.open_time) > 0)
            assert np.all(c.high >= np.maximum(c.open, c.close)) and np.all(c.low <= np.minimum(c.open, c.close))


def test_stored_clock_stops_at_the_end_of_the_data(tmp_path):
    from shared.audit.db import connect
    from shared.audit.migrations import migrate
    from shared.market.sim_clock_store import StoredReplayClock, anchor

    conn = connect(tmp_path / "c.db")
    migrate(conn)
    import time

    anchor(conn, at(T0), rate=3600.0, wall=time.time() - 100)  # 100 s ago: unbounded, 100 market hours on
    clock = StoredReplayClock(conn, at(T0), 3600.0, end=at(T0 + 86400))
    assert clock.now() == at(T0 + 86400)
    assert StoredReplayClock(conn, at(T0), 3600.0).now() > at(T0 + 86400)
