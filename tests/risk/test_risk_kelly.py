"""Fractional Kelly from closed trades: below and above the minimum trade count, cap and floor."""
from __future__ import annotations

import pytest

from shared.risk.config import KellyConfig
from shared.risk.kelly import kelly_estimate


def test_below_min_trades_kelly_does_not_apply_and_says_so():
    est = kelly_estimate([30.0, -20.0, 30.0, 30.0, -20.0], KellyConfig(min_trades=20))
    assert not est.applies
    assert est.allocation_pct is None
    assert est.trades == 5
    assert est.reason == "Kelly not applied: 5 closed trades < 20 needed"


def test_above_min_trades_worked_numbers():
    # 6 wins of +30 and 4 losses of -20 (10 trades, min 10):
    #   W = 6/10 = 0.6;  R = 30 / 20 = 1.5;  K* = 0.6 - 0.4 / 1.5 = 0.6 - 0.266667 = 0.333333
    #   half Kelly: 0.5 * 0.333333 = 0.166667 -> 16.6667 % of equity (below the 20 % cap)
    pnls = [30.0, -20.0, 30.0, 30.0, -20.0, 30.0, -20.0, 30.0, -20.0, 30.0]
    est = kelly_estimate(pnls, KellyConfig(min_trades=10, fraction=0.5, cap_pct=20.0, floor_pct=1.0))
    assert est.applies
    assert est.win_rate == pytest.approx(0.6)
    assert est.payoff_ratio == pytest.approx(1.5)
    assert est.full_kelly == pytest.approx(1 / 3)
    assert est.allocation_pct == pytest.approx(16.666667, abs=1e-5)
    assert "W=0.600 R=1.500" in est.reason


def test_cap_and_floor():
    # all wins: W = 1, no loss -> K* = W = 1; quarter Kelly = 25 % > cap 20 % -> 20 %
    cfg = KellyConfig(min_trades=5, fraction=0.25, cap_pct=20.0, floor_pct=1.0)
    est = kelly_estimate([10.0] * 5, cfg)
    assert est.full_kelly == 1.0 and est.payoff_ratio is None
    assert est.allocation_pct == 20.0 and "(cap)" in est.reason
    # all losses: no edge, K* = 0 -> floor 1 % (keeps trading small so the record can recover)
    est = kelly_estimate([-10.0] * 5, cfg)
    assert est.full_kelly == 0.0 and est.allocation_pct == 1.0 and "(floor)" in est.reason
    # W = 0.2, R = 1: K* = 0.2 - 0.8 / 1 = -0.6 -> negative -> floor 1 %
    est = kelly_estimate([10.0, -10.0, -10.0, -10.0, -10.0], cfg)
    assert est.full_kelly == pytest.approx(-0.6) and est.allocation_pct == 1.0


def test_only_the_lookback_window_counts():
    # 100 old losses, then 10 recent wins; lookback 10 sees only the wins: K* = 1 -> 0.25 -> 25 % -> cap 20 %
    est = kelly_estimate([-5.0] * 100 + [5.0] * 10, KellyConfig(min_trades=10, lookback_trades=10))
    assert est.trades == 10 and est.win_rate == 1.0 and est.allocation_pct == 20.0
