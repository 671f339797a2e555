"""Fleet Value-at-Risk (historical and parametric) and the correlation limit, across both agents' positions.

Exposure e_i = signed notional (qty * price; short < 0) summed per symbol over BOTH agents.
Returns r_{i,t}: simple returns per period, the same period for every symbol, aligned at the end
(only the common tail is used; a row with a NaN anywhere is dropped).

    portfolio PnL_t = sum_i e_i * r_{i,t}
    historical VaR  = max(0, -PnL_(k)) * sqrt(h)   with PnL_(k) the k-th smallest, k = floor((1 - c) * (n - 1)) (0-based)
    parametric VaR  = max(0, z_c * sigma_p - mu_p) * sqrt(h)   sigma_p^2 = e' Cov e (ddof 1), mu_p = e' mean(r), z_c = N^-1(c)
    h = horizon_periods (square-root-of-time scaling)

Correlation: rho between the candidate's returns and each held symbol's returns, signed by direction
(rho * dir_candidate * dir_held, so a short hedge of a correlated long counts as negative).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Mapping, Sequence

import numpy as np

from shared.risk.config import PortfolioRiskConfig
from shared.risk.verdict import RiskVerdict


@dataclass(frozen=True)
class VarResult:
    historical: float
    parametric: float
    observations: int
    symbols: tuple[str, ...]

    def value(self, method: str) -> float:
        if method == "historical":
            return self.historical
        if method == "parametric":
            return self.parametric
        return max(self.historical, self.parametric)


def aligned_returns(returns: Mapping[str, Sequence[float]], symbols: Sequence[str]) -> np.ndarray:
    """A (n, len(symbols)) matrix of the common tail of each symbol's returns, rows with NaN dropped."""
    if not symbols:
        return np.empty((0, 0))
    arrays = [np.asarray(returns[s], dtype=float).ravel() for s in symbols]
    n = min(len(a) for a in arrays)
    m = np.column_stack([a[len(a) - n:] for a in arrays]) if n else np.empty((0, len(symbols)))
    return m[~np.isnan(m).any(axis=1)]


def portfolio_var(exposures: Mapping[str, float], returns: Mapping[str, Sequence[float]], confidence: float,
                  horizon_periods: int = 1) -> VarResult:
    """Historical and parametric VaR (a positive loss in quote currency) of the given signed exposures."""
    symbols = tuple(s for s, e in exposures.items() if e != 0)
    if not symbols:
        return VarResult(0.0, 0.0, 0, ())
    m = aligned_returns(returns, symbols)
    n = m.shape[0]
    if n < 2:
        raise ValueError(f"need at least 2 aligned return observations, have {n}")
    e = np.array([exposures[s] for s in symbols], dtype=float)
    pnl = m @ e
    scale = math.sqrt(horizon_periods)
    k = int(math.floor((1 - confidence) * (n - 1) + 1e-9))
    hist = max(0.0, -float(np.sort(pnl)[k])) * scale
    cov = np.atleast_2d(np.cov(m, rowvar=False, ddof=1))
    sigma = math.sqrt(max(float(e @ cov @ e), 0.0))
    mu = float(m.mean(axis=0) @ e)
    z = NormalDist().inv_cdf(confidence)
    para = max(0.0, z * sigma - mu) * scale
    return VarResult(hist, para, n, symbols)


def correlation(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Pearson correlation of the common tail; None when undefined (too short or a constant series)."""
    m = aligned_returns({"a": a, "b": b}, ("a", "b"))
    if m.shape[0] < 2 or np.std(m[:, 0]) == 0 or np.std(m[:, 1]) == 0:
        return None
    return float(np.corrcoef(m[:, 0], m[:, 1])[0, 1])


def _missing_returns_verdict(rule: str, what: str, returns: Mapping[str, Sequence[float]], symbols: Sequence[str],
                             cfg: PortfolioRiskConfig) -> RiskVerdict | None:
    """None when every symbol has enough returns; else the verdict on_missing_returns asks for (skip or reject)."""
    missing = [s for s in symbols if s not in returns or len(returns[s]) < cfg.min_observations]
    if not missing:
        return None
    why = f"fewer than {cfg.min_observations} returns for {', '.join(missing)}"
    if cfg.on_missing_returns == "allow":
        return RiskVerdict.ok(rule, f"{what} not checked: {why} (on_missing_returns=allow)", missing=",".join(missing))
    return RiskVerdict.reject(rule, f"{what} cannot be computed: {why}", missing=",".join(missing),
                              min_observations=cfg.min_observations)


def check_var(held: Mapping[str, float], candidate: str, candidate_exposure: float, fleet_equity: float,
              returns: Mapping[str, Sequence[float]], cfg: PortfolioRiskConfig) -> RiskVerdict:
    """Reject an entry that takes fleet VaR above max_var_pct of fleet equity (and raises it).

    `held` maps symbol -> signed notional over both agents; the candidate's exposure is added to it.
    An entry that lowers VaR (a hedge) is allowed even when the fleet is already above the limit.
    """
    after = dict(held)
    after[candidate] = after.get(candidate, 0.0) + candidate_exposure
    needed = sorted(s for s, e in after.items() if e != 0)
    unchecked = _missing_returns_verdict("portfolio_var", "VaR", returns, needed, cfg)
    if unchecked is not None:
        return unchecked
    before = portfolio_var(held, returns, cfg.var_confidence, cfg.horizon_periods)
    post = portfolio_var(after, returns, cfg.var_confidence, cfg.horizon_periods)
    limit = fleet_equity * cfg.max_var_pct / 100
    v_before, v_after = before.value(cfg.var_method), post.value(cfg.var_method)
    nums = dict(var_before=v_before, var_after=v_after, var_limit=limit, max_var_pct=cfg.max_var_pct,
                var_after_pct=(v_after / fleet_equity * 100) if fleet_equity > 0 else None,
                hist_var_before=before.historical, hist_var_after=post.historical,
                param_var_before=before.parametric, param_var_after=post.parametric,
                confidence=cfg.var_confidence, horizon_periods=cfg.horizon_periods, method=cfg.var_method,
                observations=post.observations, fleet_equity=fleet_equity)
    text = (f"{cfg.var_method} VaR({cfg.var_confidence:.0%}, {cfg.horizon_periods}p) {v_before:.2f} -> {v_after:.2f} "
            f"vs limit {limit:.2f} ({cfg.max_var_pct}% of fleet equity {fleet_equity:.2f}); "
            f"historical {post.historical:.2f}, parametric {post.parametric:.2f}")
    if v_after > limit and v_after > v_before + 1e-9:
        return RiskVerdict.reject("portfolio_var", "VaR limit: " + text, **nums)
    return RiskVerdict.ok("portfolio_var", text, **nums)


def check_correlation(held: Sequence[tuple[str, float]], candidate: str, candidate_direction: int,
                      returns: Mapping[str, Sequence[float]], cfg: PortfolioRiskConfig) -> RiskVerdict:
    """Reject when the candidate's direction-signed correlation with any held symbol exceeds max_correlation.

    `held` lists (symbol, direction) of the other open positions of both agents (direction +1 long, -1 short).
    """
    if not held:
        return RiskVerdict.ok("correlation", "no other open position", max_correlation=cfg.max_correlation)
    needed = sorted({candidate, *(s for s, _ in held)})
    unchecked = _missing_returns_verdict("correlation", "correlation", returns, needed, cfg)
    if unchecked is not None:
        return unchecked
    worst_sym, worst = "", -math.inf
    for sym, direction in held:
        rho = correlation(returns[candidate], returns[sym]) if sym != candidate else 1.0
        if rho is None:
            continue
        eff = rho * candidate_direction * direction
        if eff > worst:
            worst_sym, worst = sym, eff
    if worst_sym == "":
        return RiskVerdict.ok("correlation", "correlation undefined (constant returns)",
                              max_correlation=cfg.max_correlation)
    text = f"max correlation {worst:.3f} with held {worst_sym} vs limit {cfg.max_correlation:.2f}"
    nums = dict(max_correlation_found=worst, with_symbol=worst_sym, max_correlation=cfg.max_correlation)
    if worst > cfg.max_correlation:
        return RiskVerdict.reject("correlation", "correlation limit: " + text, **nums)
    return RiskVerdict.ok("correlation", text, **nums)
