"""Shared permutations and the min-P combination of several permutation tests.

Every test of a drift check (MMD on embeddings, KS on each descriptor, ...) is evaluated on the
same set of relabellings of the pooled sample. Row 0 is the observed labelling, so a p-value is
the rank of the observed statistic among all ``n_permutations + 1`` values: exact under the null
of exchangeability, never 0.

Combining by min-P (Westfall & Young) instead of Bonferroni/Holm keeps the family-wise
false-alarm rate at alpha whatever the correlation between the tests (lengths in characters,
words and lines move together): Bonferroni would pay for every such twin and under-alarm.
"""
from __future__ import annotations

import numpy as np


def permutation_masks(n_x: int, n_y: int, n_permutations: int, seed: int) -> np.ndarray:
    """Boolean ``(n_permutations + 1, n_x + n_y)``: True marks the pooled rows labelled "x".

    Row 0 is the observed split (the first ``n_x`` rows are x); the others are uniform random
    relabellings drawn from ``seed``.
    """
    n = n_x + n_y
    rng = np.random.default_rng(seed)
    order = rng.permuted(np.tile(np.arange(n), (n_permutations, 1)), axis=1)
    masks = np.zeros((n_permutations + 1, n), dtype=bool)
    masks[0, :n_x] = True
    np.put_along_axis(masks[1:], order[:, :n_x], True, axis=1)
    return masks


def upper_tail_pvalues(stats: np.ndarray) -> np.ndarray:
    """For each row of ``stats`` ``(tests, n_permutations + 1)``: the share of the row's values
    at least as large as each value. Column 0 holds the observed test p-values."""
    stats = np.atleast_2d(np.asarray(stats, dtype=np.float64))
    total = stats.shape[1]
    pvalues = np.empty_like(stats)
    for row, values in enumerate(stats):
        ordered = np.sort(values)
        pvalues[row] = (total - np.searchsorted(ordered, values, side="left")) / total
    return pvalues


def minp_adjust(pvalues: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raw and family-wise adjusted p-values of the observed column of ``pvalues``
    (``upper_tail_pvalues`` of the family's statistics, computed once by the caller).

    The adjusted p-value of test t is the share of labellings whose smallest p-value (over all
    tests) is at most test t's observed p-value (single-step min-P). The smallest adjusted
    p-value is the p-value of the combined "anything moved" decision.
    """
    min_p = pvalues.min(axis=0)
    raw = pvalues[:, 0]
    adjusted = (min_p[None, :] <= raw[:, None] + 1e-12).mean(axis=1)
    return raw, adjusted


def paired_masks(
    n_x: int, n_y: int, pairs: np.ndarray, n_permutations: int, seed: int
) -> np.ndarray:
    """Labellings that respect a pairing: like ``permutation_masks``, row 0 is the observed split.

    ``pairs`` is ``(m, 2)``: pooled rows ``(i, j)`` with ``i`` in x and ``j`` in y answering the
    same prompt. Each relabelling swaps the labels of each pair with probability 1/2 and permutes
    the unpaired rows among themselves. Under "same model before and now" the two answers of one
    prompt are exchangeable, so this is the exact null, and it keeps what a prompt explains out of
    the comparison: only the answer given the prompt can move a statistic.
    """
    n = n_x + n_y
    rng = np.random.default_rng(seed)
    masks = np.zeros((n_permutations + 1, n), dtype=bool)
    masks[:, :n_x] = True
    if len(pairs):
        swap = rng.random((n_permutations, len(pairs))) < 0.5
        masks[1:, pairs[:, 0]] = ~swap
        masks[1:, pairs[:, 1]] = swap
    paired = np.zeros(n, dtype=bool)
    paired[pairs.ravel()] = True
    rest = np.flatnonzero(~paired)
    if len(rest):
        n_rest_x = int((rest < n_x).sum())
        order = rng.permuted(np.tile(np.arange(len(rest)), (n_permutations, 1)), axis=1)
        block = np.zeros((n_permutations, len(rest)), dtype=bool)
        np.put_along_axis(block, order[:, :n_rest_x], True, axis=1)
        masks[1:, rest] = block
    return masks


def _weighted_log_terms(log_pvalues: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """log(w / p) of each member (rows) and labelling (columns); -inf where a weight is 0."""
    log_p = np.asarray(log_pvalues, dtype=np.float64)
    w = np.ones(len(log_p)) if weights is None else np.asarray(weights, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.log(w)[:, None] - log_p


def harmonic_pvalue(log_pvalues: np.ndarray, weights: np.ndarray | None = None) -> float:
    """p-value of the whole family: the rank of the observed weighted sum of 1/p among the same
    labellings' sums (a weighted harmonic mean, a nonparametric combination, Pesarin 2001).
    ``log_pvalues`` is ``(members, B + 1)``, column 0 observed, on any scale that treats every
    labelling alike (ranks, an analytic tail, a tail fitted to the member's whole row), so exact
    whatever the scale, the members' correlation and the weights (which do not depend on the
    labels).

    Unlike min-P, whose correction grows with every member, several moderately small p-values
    add up, while a member that cannot see the shift only adds ~w/p ≈ 2w to a sum that a sharp
    member dominates. ``weights`` (one per member, default 1; 0 leaves a member out) let a few
    members that must not be diluted (the local excess, against ten prompt descriptors) count
    more. Summed in log space: an analytic p-value far below 1e-300 must still count.
    """
    terms = _weighted_log_terms(log_pvalues, weights)
    top = terms.max(axis=0)
    log_sum = top + np.log(np.exp(terms - top).sum(axis=0))
    return float((log_sum >= log_sum[0] - 1e-12).mean())


def evidence_shares(log_pvalues: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Each member's share of the observed weighted sum of 1/p that ``harmonic_pvalue`` ranks."""
    observed = _weighted_log_terms(log_pvalues, weights)[:, 0]
    scaled = np.exp(observed - observed.max())  # w/p over the largest w/p: no overflow
    return scaled / scaled.sum()
