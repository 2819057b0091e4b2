"""min-P combination: valid p-values and a family-wise false-alarm rate at alpha."""
from __future__ import annotations

import numpy as np

from functions.drift.descriptors import ks_for_masks
from functions.drift.permutation import (
    minp_adjust,
    permutation_masks,
    upper_tail_pvalues,
)


def test_upper_tail_pvalues_rank_with_ties():
    p = upper_tail_pvalues(np.array([[3.0, 1.0, 3.0, 5.0]]))
    np.testing.assert_allclose(p, [[0.75, 1.0, 0.75, 0.25]])


def test_adjusted_pvalues_are_at_least_raw_and_at_most_bonferroni():
    rng = np.random.default_rng(1)
    stats = rng.normal(size=(4, 200))
    stats[2, 0] = 5.0  # test 2 is extreme in the observed column
    raw, adjusted = minp_adjust(upper_tail_pvalues(stats))
    assert (adjusted >= raw - 1e-12).all()
    assert (adjusted <= np.minimum(1, 4 * raw) + 1e-12).all()
    assert adjusted.argmin() == 2


def test_identical_tests_cost_no_correction():
    """Bonferroni would triple the p-value of three copies of one test; min-P does not."""
    rng = np.random.default_rng(2)
    one = rng.normal(size=200)
    raw, adjusted = minp_adjust(upper_tail_pvalues(np.stack([one, one, one])))
    np.testing.assert_allclose(adjusted, raw)


def test_false_alarm_rate_of_correlated_ks_tests_is_alpha():
    """Three strongly correlated descriptors under the null: family-wise rate near 0.05
    (Bonferroni would give about a third of that)."""
    rng = np.random.default_rng(4)
    alarms = 0
    trials = 400
    for trial in range(trials):
        base = rng.normal(size=60)
        family = [base, base + 0.3 * rng.normal(size=60), np.exp(base) + 0.3 * rng.normal(size=60)]
        masks = permutation_masks(30, 30, 199, seed=trial)
        _, adjusted = minp_adjust(upper_tail_pvalues(np.stack([ks_for_masks(values, masks) for values in family])))
        alarms += adjusted.min() <= 0.05
    assert 0.025 <= alarms / trials <= 0.08
