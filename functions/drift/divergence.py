"""Effect sizes beside the calibrated drift decision: how far apart the windows are, in nats.

- KL(current || baseline) and the Jensen-Shannon divergence of the topic-cluster shares (the
  report's baseline clusters), after adding ``PSEUDO_COUNT`` = 0.5 to every cluster's count in
  both windows (Jeffreys' prior, the Krichevsky-Trofimov estimator): a cluster that one window
  leaves empty would make KL infinite, and 0.5 is the smallest conventional pseudo-count, so it
  shrinks the shares of 8 clusters over 100+ records by well under 1 point each. JS is computed
  on the same smoothed shares, so both describe one pair of distributions.
- the population stability index of each descriptor, sum (c - b) ln(c / b) over bins: the
  baseline's deciles for a continuous descriptor (tied deciles merge, so a count can have fewer
  bins), the two categories of a flag. A bin that one window leaves empty gets the share
  ``PSI_EPSILON`` = 1e-4 instead of 0 (else ln 0), the value the PSI literature usually uses.

These are not tests: nothing here knows the sampling noise. The decision is the permutation
test's p-value; these say how big the change it found (or did not find) is.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from functions.drift.clusters import topic_labels
from functions.drift.descriptors import align_descriptors
from functions.drift.report import DescriptorPSI, Divergences, PsiSize

if TYPE_CHECKING:
    from functions.drift.detector import Window

PSEUDO_COUNT = 0.5
PSI_EPSILON = 1e-4
DECILES = np.linspace(0.1, 0.9, 9)


def smoothed_shares(counts: np.ndarray, pseudo_count: float = PSEUDO_COUNT) -> np.ndarray:
    """(count + a) / (n + k a) for each of the k categories."""
    counts = np.asarray(counts, dtype=np.float64) + pseudo_count
    return counts / counts.sum()


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) = sum p ln(p / q) in nats (terms with p = 0 are 0; q must be > 0 where p is)."""
    support = p > 0
    return float(np.sum(p[support] * np.log(p[support] / q[support])))


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence in nats: symmetric, finite, at most ln 2."""
    middle = (p + q) / 2
    return (kl_divergence(p, middle) + kl_divergence(q, middle)) / 2


def _bins(baseline: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Bin indices of both windows: a flag's categories, else (-inf, d1], (d1, d2], ..., (d9, inf)
    on the baseline's deciles ``d`` (numpy's linear quantiles)."""
    if baseline.dtype == bool:
        return baseline.astype(np.int64), current.astype(np.int64), 2
    edges = np.unique(np.quantile(baseline.astype(np.float64), DECILES))
    return np.searchsorted(edges, baseline, side="left"), np.searchsorted(edges, current, side="left"), len(edges) + 1


def psi(baseline: np.ndarray, current: np.ndarray, epsilon: float = PSI_EPSILON) -> tuple[float, int]:
    """(PSI of ``current`` against ``baseline``, number of bins)."""
    bins_b, bins_c, n_bins = _bins(baseline, current)
    share_b = np.maximum(np.bincount(bins_b, minlength=n_bins) / bins_b.size, epsilon)
    share_c = np.maximum(np.bincount(bins_c, minlength=n_bins) / bins_c.size, epsilon)
    return float(np.sum((share_c - share_b) * np.log(share_c / share_b))), n_bins


def psi_size(value: float) -> PsiSize:
    """The usual reading of a PSI (a convention from credit scoring, not a test)."""
    return "small" if value < 0.1 else "moderate" if value <= 0.25 else "large"


def effect_sizes(baseline: Window, current: Window, *, k: int | None = None, seed: int = 0) -> Divergences:
    """Divergences of ``current`` from ``baseline`` on the report's topic clusters (same k-means,
    same ``k`` and ``seed`` as ``cluster_shifts``) and on each descriptor both windows have."""
    centroids, labels_b, labels_c = topic_labels(baseline.embeddings, current.embeddings, k, seed)
    p_b = smoothed_shares(np.bincount(labels_b, minlength=len(centroids)))
    p_c = smoothed_shares(np.bincount(labels_c, minlength=len(centroids)))
    desc_b, desc_c = align_descriptors(baseline.descriptors, current.descriptors)
    rows = []
    for name in desc_b:
        value, n_bins = psi(desc_b[name], desc_c[name])
        rows.append(DescriptorPSI(name=name, psi=value, bins=n_bins, size=psi_size(value)))
    return Divergences(
        clusters=len(centroids),
        pseudo_count=PSEUDO_COUNT,
        cluster_kl=kl_divergence(p_c, p_b),
        cluster_js=js_divergence(p_c, p_b),
        psi_epsilon=PSI_EPSILON,
        psi=sorted(rows, key=lambda r: (-r.psi, r.name)),
    )
