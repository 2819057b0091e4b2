"""The exponential tail beyond a member's permutations (exceedance.py)."""
from __future__ import annotations

import numpy as np
from scipy import stats as scipy_stats

from functions.drift.descriptors import ks_for_masks
from functions.drift.detector import member_log_pvalues
from functions.drift.exceedance import tail_log_pvalues
from functions.drift.kolmogorov import ks_log_pvalues
from functions.drift.permutation import permutation_masks, upper_tail_pvalues


def _log_ranks(stats: np.ndarray) -> np.ndarray:
    return np.log(upper_tail_pvalues(stats))


def test_within_the_permutations_it_is_the_rank_and_beyond_them_it_keeps_falling():
    values = np.random.default_rng(0).normal(size=(1, 501))
    values[0, 0] = 3.0  # above all but the largest few of 500 normals
    far = values.copy()
    far[0, 0] = 10.0
    log_rank = _log_ranks(values)
    fitted = tail_log_pvalues(values, log_rank)
    below = values[0] <= np.quantile(values[0], 0.89)
    assert np.array_equal(fitted[0, below], log_rank[0, below])  # below the top 10%: the rank itself
    assert np.all(fitted <= log_rank + 1e-12)  # never larger than the exact rank
    far_fitted = tail_log_pvalues(far, _log_ranks(far))
    assert far_fitted[0, 0] < np.log(1 / 501) - 5  # far beyond every permutation: far below 1/(B+1)
    assert far_fitted[0, 0] < fitted[0, 0]  # and further out, smaller


def test_a_constant_row_keeps_its_rank():
    values = np.zeros((2, 101))
    values[1, :50] = 1.0  # ties at the threshold: nothing above it
    log_rank = _log_ranks(values)
    assert np.array_equal(tail_log_pvalues(values, log_rank), log_rank)


def test_on_a_tied_ks_statistic_it_overstates_the_exact_tail_less_than_kolmogorov():
    """A KS statistic on a descriptor with two values (a line count of 1 or 2) is a difference of
    two rates: its exact tail is the two-proportion test's. Of 30 draws, those whose observed gap
    lies beyond the fit's threshold (measured: 12) take the fitted tail instead of their rank;
    there it stays above the exact p (an overestimate, as its module says) and closer to it than
    Kolmogorov's asymptotic tail (measured: in all 12)."""
    n = 100
    fitted_draws, closer = 0, 0
    for seed in range(30):
        rng = np.random.default_rng(seed)
        values = (rng.random(2 * n) < 0.15).astype(float)
        values[n:][rng.random(n) < 0.12] = 1.0  # the current window: more second lines
        masks = permutation_masks(n, n, 500, seed)
        rate_gap = np.abs((masks @ values) / n - ((~masks) @ values) / n)  # = KS D for a binary value
        log_rank = _log_ranks(rate_gap[None])
        fitted = tail_log_pvalues(rate_gap[None], log_rank)[0, 0]
        if fitted >= log_rank[0, 0]:
            continue  # within the permutations: the rank itself
        fitted_draws += 1
        pooled = values.mean()
        z = rate_gap[0] / np.sqrt(pooled * (1 - pooled) * 2 / n)
        exact = np.log(2) + scipy_stats.norm.logsf(z)  # the two-sided two-proportion z-test
        kolmogorov = np.log(scipy_stats.kstwobign.sf(np.sqrt(n / 2) * rate_gap[0]))
        assert fitted >= exact - 0.5, (seed, fitted, exact)  # overstates the p-value (0.5: the fit's noise)
        closer += abs(fitted - exact) < abs(kolmogorov - exact)
    assert fitted_draws >= 10 and closer >= fitted_draws - 1, (fitted_draws, closer)


def test_the_family_takes_the_fitted_tail_where_kolmogorov_is_too_large_on_a_tied_descriptor():
    """A line count that is 1 or 2, with the second line four times as common in the current
    window, tops all 500 labellings: the family's scale for that KS member is then the fitted
    tail, below both the rank's floor and Kolmogorov's p, and still above the exact
    two-proportion p (measured: log p -6.6; Kolmogorov -5.3, the rank -6.2, exact -9.3)."""
    rng = np.random.default_rng(7)
    lines = np.concatenate([1 + (rng.random(100) < 0.1), 1 + (rng.random(100) < 0.4)]).astype(float)
    masks = permutation_masks(100, 100, 500, seed=1)
    stats = ks_for_masks(lines, masks)[None]
    ranks = upper_tail_pvalues(stats)
    log_p = member_log_pvalues(["ks"], stats, ranks, 100, 100)[0, 0]
    kolmogorov = ks_log_pvalues(stats[:, :1], 100, 100)[0, 0]
    assert ranks[0, 0] == 1 / 501
    pooled = lines.mean() - 1
    z = stats[0, 0] / np.sqrt(pooled * (1 - pooled) * 2 / 100)
    exact = np.log(2) + scipy_stats.norm.logsf(z)
    assert exact < log_p < min(np.log(1 / 501), kolmogorov - 1), (exact, log_p, kolmogorov)
