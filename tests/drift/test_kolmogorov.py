"""The drift check's Kolmogorov tail (no scipy in the function) against scipy's, and what it is for:
a KS member's evidence keeps counting past the 1/(B+1) where its permutation rank stops."""
from __future__ import annotations

import numpy as np
from scipy.special import kolmogorov
from scipy.stats import ks_2samp

from functions.drift.descriptors import ks_for_masks
from functions.drift.detector import member_log_pvalues
from functions.drift.kolmogorov import ks_log_pvalues, log_kolmogorov_sf
from functions.drift.permutation import harmonic_pvalue, permutation_masks, upper_tail_pvalues


def test_log_sf_matches_scipy_on_both_sides_of_the_switch():
    lam = np.linspace(0.0, 18.0, 3601)
    reference = kolmogorov(lam)
    shown = reference > 1e-300  # scipy underflows beyond lam ~ 18.6
    np.testing.assert_allclose(log_kolmogorov_sf(lam[shown]), np.log(reference[shown]), rtol=0, atol=1e-12)


def test_log_sf_keeps_going_where_scipy_underflows():
    lam = np.array([20.0, 40.0, 80.0])
    assert np.all(kolmogorov(lam) < 1e-300)
    np.testing.assert_allclose(log_kolmogorov_sf(lam), np.log(2.0) - 2 * lam**2, rtol=1e-15)


def test_ks_log_pvalues_are_the_asymptotic_p_of_continuous_samples():
    """On continuous data the corrected asymptotic p is within 15% of scipy's exact one (measured:
    at most 11% over 180 draws down to p = 1e-8): a scale that tracks the real tail."""
    rng = np.random.default_rng(0)
    for shift in (0.0, 0.3, 0.6):
        x, y = rng.normal(size=80), rng.normal(shift, size=120)
        exact = ks_2samp(x, y, method="exact")
        ours = np.exp(ks_log_pvalues(np.array([exact.statistic]), 80, 120))[0]
        assert abs(ours - exact.pvalue) <= 0.15 * exact.pvalue, (shift, ours, exact.pvalue)


def test_a_far_ks_shift_outweighs_a_heavily_weighted_blind_member_only_on_the_analytic_scale():
    """Word counts moved far beyond every permutation (a style shift) beside a blind member that
    carries 40 times the weight (the local excess on a window that has no new topic): on ranks the
    shift is capped at p = 1/(B+1) and the blind member's noise drowns it; the Kolmogorov tail
    gives it the log p it has. The decision is still a rank among the labellings, so it stays exact."""
    rng = np.random.default_rng(1)
    masks = permutation_masks(30, 30, 500, seed=2)
    words = np.concatenate([rng.normal(60, 15, 30), rng.normal(140, 30, 30)])
    stats = np.stack([rng.normal(size=501), ks_for_masks(words, masks)])
    kinds = ["local-excess", "ks"]
    weights = np.array([40.0, 1.0])
    ranks = upper_tail_pvalues(stats)
    log_p = member_log_pvalues(kinds, stats, ranks, 30, 30)
    assert ranks[1, 0] == 1 / 501 and log_p[1, 0] < np.log(1e-6)
    np.testing.assert_array_equal(log_p[0], np.log(ranks[0]))  # ranks for the others
    assert harmonic_pvalue(np.log(ranks), weights) > 0.05
    assert harmonic_pvalue(log_p, weights) <= 0.05


def test_analytic_scale_keeps_the_combined_false_alarm_rate_at_alpha():
    """Exchangeable labellings, one blind local-excess-like member and three KS members (two of
    them on tied, discrete values): alarms at 0.05 about 5% of the time on the analytic scale."""
    rng = np.random.default_rng(3)
    trials, alarms = 300, 0
    weights = np.array([40.0, 20 / 3, 20 / 3, 20 / 3])
    for trial in range(trials):
        masks = permutation_masks(40, 40, 200, seed=trial)
        values = [rng.normal(size=80), rng.poisson(1.0, 80).astype(float), rng.integers(0, 3, 80).astype(float)]
        stats = np.stack([rng.normal(size=201)] + [ks_for_masks(v, masks) for v in values])
        kinds = ["local-excess", "ks", "ks", "ks"]
        log_p = member_log_pvalues(kinds, stats, upper_tail_pvalues(stats), 40, 40)
        alarms += harmonic_pvalue(log_p, weights) <= 0.05
    assert 0.025 <= alarms / trials <= 0.08, alarms
