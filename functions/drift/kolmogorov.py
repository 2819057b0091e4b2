"""Kolmogorov's limiting distribution for the two-sample KS statistic, in log space: numpy only, so
the drift check ships without scipy (student_t.py says why).

The family puts each KS member's evidence on this scale instead of its permutation rank. A rank
cannot go below 1/(B+1): with B = 500 a style shift whose word counts sit twenty permutation
standard deviations out weighs no more than a member that only just tops its permutations, so a
heavy weight on another member (the local excess) drowns it. The analytic tail keeps telling
them apart (log p of -12 against -6). It is only a scale: the decision still ranks the combined
evidence among the same labellings, so it stays exact whether or not the approximation is good
(ties make it conservative, which only lightens a member's weight).
"""
from __future__ import annotations

import numpy as np

_TERMS = np.arange(1, 8, dtype=np.float64)  # both series have converged to double precision by then
_SWITCH = 1.0  # below: the Jacobi-theta form (converges fast for small lambda); above: the alternating sum


def log_kolmogorov_sf(lam: np.ndarray) -> np.ndarray:
    """log P(K > lam) for Kolmogorov's K, elementwise; equals ``log(scipy.special.kolmogorov)`` to
    1e-12 where that is representable, and keeps going where it underflows (lam of 30 and more)."""
    lam = np.asarray(lam, dtype=np.float64)
    out = np.zeros_like(lam)
    small = (lam > 0.05) & (lam < _SWITCH)  # below 0.05, P(K <= lam) < 1e-300: log sf is 0
    if small.any():
        x = lam[small, None]
        cdf = np.sqrt(2 * np.pi) / x[:, 0] * np.exp(-((2 * _TERMS - 1) ** 2) * np.pi**2 / (8 * x**2)).sum(axis=1)
        out[small] = np.log1p(-cdf)
    large = lam >= _SWITCH
    if large.any():
        x = lam[large, None]
        # 2 sum (-1)^(j-1) exp(-2 j^2 x^2) = 2 exp(-2 x^2) (1 + sum_{j>=2} (-1)^(j-1) exp(-2 (j^2 - 1) x^2))
        rest = ((-1.0) ** (_TERMS[1:] - 1) * np.exp(-2 * (_TERMS[1:] ** 2 - 1) * x**2)).sum(axis=1)
        out[large] = np.log(2.0) - 2 * lam[large] ** 2 + np.log1p(rest)
    return out


def ks_log_pvalues(statistics: np.ndarray, n_x: int, n_y: int) -> np.ndarray:
    """log of the asymptotic two-sample KS p-value of each statistic sup|F_x - F_y|, with Stephens'
    small-sample correction (lam = (sqrt(m) + 0.12 + 0.11 / sqrt(m)) D, m = n_x n_y / (n_x + n_y))."""
    root = np.sqrt(n_x * n_y / (n_x + n_y))
    return log_kolmogorov_sf((root + 0.12 + 0.11 / root) * np.asarray(statistics, dtype=np.float64))
