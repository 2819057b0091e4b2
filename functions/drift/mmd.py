"""Kernel two-sample test: unbiased MMD² with an RBF kernel and a permutation p-value.

The pooled kernel matrix is computed once; every permutation is then a labelling mask, and the
MMD² of a whole batch of masks is one matrix product (masks @ K) instead of a Python loop that
re-indexes K per permutation.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from functions.drift.permutation import permutation_masks, upper_tail_pvalues

# Rows of masks per matrix product: bounds the (chunk, n) temporaries for large windows.
MASK_CHUNK = 128


def squared_distances(z: np.ndarray) -> np.ndarray:
    """Pairwise squared Euclidean distances of the rows of ``z`` (float64, clipped at 0)."""
    z = np.asarray(z, dtype=np.float64)
    sq_norms = np.einsum("ij,ij->i", z, z)
    d2 = sq_norms[:, None] + sq_norms[None, :] - 2.0 * (z @ z.T)
    np.maximum(d2, 0.0, out=d2)
    np.fill_diagonal(d2, 0.0)
    return d2


def median_heuristic(d2: np.ndarray) -> float:
    """Bandwidth sigma with sigma² = median of the pooled off-diagonal squared distances.

    Computed on the pooled sample, so it is the same for every relabelling and the permutation
    test stays exact.
    """
    upper = d2[np.triu_indices_from(d2, k=1)]
    positive = upper[upper > 0]
    median = float(np.median(positive)) if positive.size else 1.0
    return float(np.sqrt(median))


def rbf_kernel(d2: np.ndarray, bandwidth: float) -> np.ndarray:
    """k(x, y) = exp(-|x - y|² / (2 sigma²))."""
    return np.exp(-d2 / (2.0 * bandwidth**2))


def mmd2_for_masks(kernel: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Unbiased MMD² of the split given by each row of ``masks`` (True = x) over ``kernel``."""
    n_x = int(masks[0].sum())
    n_y = masks.shape[1] - n_x
    row_sums = kernel.sum(axis=1)
    total = row_sums.sum()
    diagonal = np.diag(kernel)
    out = np.empty(masks.shape[0])
    for start in range(0, masks.shape[0], MASK_CHUNK):
        a = masks[start : start + MASK_CHUNK].astype(kernel.dtype)
        k_xx = np.einsum("pi,pi->p", a @ kernel, a)  # a^T K a
        k_xy = a @ row_sums - k_xx  # a^T K (1 - a)
        k_yy = total - k_xx - 2.0 * k_xy
        diag_x = a @ diagonal
        diag_y = diagonal.sum() - diag_x
        out[start : start + a.shape[0]] = (
            (k_xx - diag_x) / (n_x * (n_x - 1))
            + (k_yy - diag_y) / (n_y * (n_y - 1))
            - 2.0 * k_xy / (n_x * n_y)
        )
    return out


@dataclass(frozen=True)
class MMDResult:
    statistic: float  # unbiased MMD² of the observed split
    p_value: float
    bandwidth: float
    n_permutations: int


def mmd_test(x: np.ndarray, y: np.ndarray, n_permutations: int = 500, seed: int = 0) -> MMDResult:
    """Permutation MMD test of ``x`` vs ``y`` (rows are samples) on its own.

    The drift detector runs the same statistic inside its combined test (see ``detector``); this
    stand-alone form is what the benchmark times against other MMD implementations.
    """
    pooled = np.concatenate([np.asarray(x), np.asarray(y)])
    d2 = squared_distances(pooled)
    bandwidth = median_heuristic(d2)
    kernel = rbf_kernel(d2, bandwidth)
    masks = permutation_masks(len(x), len(y), n_permutations, seed)
    stats = mmd2_for_masks(kernel, masks)
    return MMDResult(
        statistic=float(stats[0]),
        p_value=float(upper_tail_pvalues(stats)[0, 0]),
        bandwidth=bandwidth,
        n_permutations=n_permutations,
    )
