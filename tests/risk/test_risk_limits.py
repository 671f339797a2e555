"""Per-agent and fleet limits with worked numbers: positions, cluster exposure, trade frequency, daily loss,
drawdown including unrealised PnL, loss-streak cooldown on the injected clock, bucket downgrade."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.risk.config import LimitsConfig, RiskBucket
from shared.risk.limits import (check_cluster_exposure, check_daily_loss, check_drawdown, check_loss_cooldown,
                                check_open_positions, check_trade_frequency, choose_bucket, consecutive_losses,
                                trade_counts)

T0 = datetime(2025, 3, 3, 10, 0, tzinfo=timezone.utc)
CFG = LimitsConfig()


def test_open_positions_agent_and_fleet():
    v = check_open_positions(agent_open=3, fleet_open=4, max_agent=3, max_fleet=6)
    assert not v.allowed and v.rule == "max_positions_agent" and v.numbers["agent_open"] == 3
    v = check_open_positions(agent_open=2, fleet_open=6, max_agent=3, max_fleet=6)
    assert not v.allowed and v.rule == "max_positions_fleet" and v.numbers["max_fleet"] == 6
    assert check_open_positions(2, 5, 3, 6).allowed
    # adding to a symbol already held does not open a new position
    assert check_open_positions(3, 6, 3, 6, adds_position=False).allowed


def test_cluster_exposure_counts_both_agents_gross():
    # majors: hybrid long BTC 5 000 + futures short ETH 5 000 (gross) = 10 000; + candidate 1 000 = 11 000
    # 11 000 / fleet equity 20 000 = 55 % > 50 % -> reject
    v = check_cluster_exposure("majors", 10_000, -1_000, 20_000, 50.0)
    assert not v.allowed and v.rule == "cluster_exposure"
    assert v.numbers["cluster_notional_after"] == 11_000 and v.numbers["cluster_pct_after"] == pytest.approx(55.0)
    # candidate 0 -> 10 000 = 50 % -> at the limit, allowed
    assert check_cluster_exposure("majors", 10_000, 0, 20_000, 50.0).allowed


def test_trades_per_day_and_hour():
    v = check_trade_frequency(8, 0, CFG)
    assert not v.allowed and v.rule == "trades_per_day" and v.numbers["max_per_day"] == 8
    v = check_trade_frequency(5, 3, CFG)
    assert not v.allowed and v.rule == "trades_per_hour" and v.numbers["trades_this_hour"] == 3
    assert check_trade_frequency(7, 2, CFG).allowed


def test_trade_counts_helper_uses_utc_day_and_rolling_hour():
    now = datetime(2025, 3, 3, 0, 30, tzinfo=timezone.utc)
    times = [now - timedelta(minutes=m) for m in (10, 50, 70)]  # 00:20, 23:40 (yesterday), 23:20 (yesterday)
    assert trade_counts(times, now) == (1, 2)


def test_daily_loss_stop_uses_equity_including_unrealised():
    # day start 10 000; cash 9 820 + unrealised -120 = equity 9 700 -> (10 000 - 9 700) / 10 000 = 3.00 % >= 3 % -> stop
    v = check_daily_loss(9_820 - 120, 10_000, 3.0)
    assert not v.allowed and v.rule == "daily_loss" and v.numbers["daily_loss_pct"] == pytest.approx(3.0)
    # equity 9 701 -> 2.99 % -> still allowed
    assert check_daily_loss(9_701, 10_000, 3.0).allowed


def test_drawdown_includes_unrealised_pnl():
    # peak 12 000; cash 11 000 alone would be 8.33 %, but unrealised -200 -> equity 10 800
    # (12 000 - 10 800) / 12 000 = 10.0 % >= 10 % -> breach
    assert check_drawdown(11_000, 12_000, 10.0).allowed
    v = check_drawdown(11_000 - 200, 12_000, 10.0)
    assert not v.allowed and v.rule == "max_drawdown" and v.numbers["drawdown_pct"] == pytest.approx(10.0)
    # a new high is its own peak: no drawdown
    assert check_drawdown(13_000, 12_000, 10.0).numbers["drawdown_pct"] == 0


def test_consecutive_losses():
    assert consecutive_losses([5, -1, -2, -3]) == 3
    assert consecutive_losses([-1, -2, -3, 4]) == 0
    assert consecutive_losses([-1, 0, -3]) == 1  # breakeven ends a streak


def test_loss_cooldown_measured_from_last_loss_close():
    # 3 losses closed at 10:00, 10:20, 10:40; cooldown 60 min -> until 11:40
    pnls, last = [-10.0, -5.0, -7.0], T0 + timedelta(minutes=40)
    v = check_loss_cooldown(pnls, last, T0 + timedelta(minutes=70), CFG)  # now 11:10 -> 30 min left
    assert not v.allowed and v.rule == "loss_cooldown"
    assert v.numbers["minutes_left"] == pytest.approx(30.0) and v.numbers["consecutive_losses"] == 3
    assert v.numbers["cooldown_until"] == "2025-03-03T11:40:00+00:00"
    assert check_loss_cooldown(pnls, last, T0 + timedelta(minutes=101), CFG).allowed  # 11:41
    assert check_loss_cooldown(pnls[:2], last, T0 + timedelta(minutes=41), CFG).allowed  # only 2 losses
    assert check_loss_cooldown(pnls + [1.0], last, T0 + timedelta(minutes=41), CFG).allowed  # a win ended it


def test_choose_bucket():
    assert choose_bucket(RiskBucket.HIGH, "danger", [(0.0, 10.0)], CFG)[0] is RiskBucket.LOW
    assert choose_bucket(RiskBucket.NORMAL, "NORMAL", [(9.0, 10.0)], CFG)[0] is RiskBucket.LOW  # 9.0 >= 10 - 1
    assert choose_bucket(RiskBucket.NORMAL, "NORMAL", [(2.0, 10.0), (2.5, 3.0)], CFG)[0] is RiskBucket.LOW  # fleet
    assert choose_bucket(RiskBucket.HIGH, "NORMAL", [(8.99, 10.0)], CFG)[0] is RiskBucket.HIGH
