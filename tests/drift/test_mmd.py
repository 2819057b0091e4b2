"""The vectorised MMD² equals the textbook formula, and its permutation test behaves."""
from __future__ import annotations

import numpy as np
import pytest

from functions.drift.mmd import (
    median_heuristic,
    mmd2_for_masks,
    mmd_test,
    rbf_kernel,
    squared_distances,
)
from functions.drift.permutation import permutation_masks


def textbook_mmd2(kernel: np.ndarray, mask: np.ndarray) -> float:
    x, y = np.flatnonzero(mask), np.flatnonzero(~mask)
    k_xx, k_yy, k_xy = kernel[np.ix_(x, x)], kernel[np.ix_(y, y)], kernel[np.ix_(x, y)]
    n, m = len(x), len(y)
    return (
        (k_xx.sum() - np.trace(k_xx)) / (n * (n - 1))
        + (k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
        - 2 * k_xy.mean()
    )


def test_batched_mmd2_matches_the_definition_for_every_permutation():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(70, 8))
    d2 = squared_distances(z)
    kernel = rbf_kernel(d2, median_heuristic(d2))
    masks = permutation_masks(30, 40, 300, seed=1)  # > one chunk of masks
    batched = mmd2_for_masks(kernel, masks)
    expected = [textbook_mmd2(kernel, mask) for mask in masks]
    np.testing.assert_allclose(batched, expected, atol=1e-12)


def test_squared_distances_and_median_bandwidth():
    z = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]])
    d2 = squared_distances(z)
    np.testing.assert_allclose(d2, [[0, 25, 1], [25, 0, 18], [1, 18, 0]], atol=1e-12)
    assert median_heuristic(d2) == pytest.approx(np.sqrt(18))


def test_permutation_masks_label_the_observed_split_first_and_balance_every_row():
    masks = permutation_masks(5, 7, 50, seed=0)
    assert masks.shape == (51, 12)
    assert masks[0, :5].all() and not masks[0, 5:].any()
    assert (masks.sum(axis=1) == 5).all()
    assert len({row.tobytes() for row in masks[1:]}) > 40  # real relabellings, not repeats
    np.testing.assert_array_equal(masks, permutation_masks(5, 7, 50, seed=0))


def test_mmd_test_detects_a_shift_and_not_a_copy_of_the_distribution():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 16))
    shifted = rng.normal(size=(80, 16)) + 0.5
    same = rng.normal(size=(80, 16))
    assert mmd_test(x, shifted, n_permutations=200, seed=0).p_value < 0.01
    result = mmd_test(x, same, n_permutations=200, seed=0)
    assert result.p_value > 0.05
    assert 1 / 201 <= result.p_value <= 1  # includes the observed labelling: never 0
