"""The members added in issue #18 and the labellings they share: each against its definition,
and the paired labellings' invariants."""
from __future__ import annotations

import numpy as np
import pytest

from functions.drift.detector import VIEW_WEIGHTS, view_weights
from functions.drift.discriminant import discriminant_features, hotelling_for_masks
from functions.drift.local import local_excess_for_masks
from functions.drift.mmd import median_heuristic, mmd2_for_masks, rbf_kernel, squared_distances
from functions.drift.pairing import match_pairs, prompt_key
from functions.drift.permutation import (
    evidence_shares,
    harmonic_pvalue,
    minp_adjust,
    paired_masks,
    permutation_masks,
    upper_tail_pvalues,
)


def test_hotelling_is_the_ridge_t2_of_the_mean_gap_for_every_labelling():
    z = np.random.default_rng(0).normal(size=(50, 6))
    masks = permutation_masks(20, 30, 40, seed=1)
    centred = z - z.mean(axis=0)
    covariance = centred.T @ centred / 49
    for ridge in (0.0, 1.0):
        penalised = covariance + ridge * np.trace(covariance) / 6 * np.eye(6)
        expected = [(g := z[m].mean(0) - z[~m].mean(0)) @ np.linalg.solve(penalised, g) for m in masks]
        np.testing.assert_allclose(hotelling_for_masks(z, masks, ridge=ridge), expected, rtol=1e-10)


def test_discriminant_features_weigh_embeddings_and_descriptors_alike():
    rng = np.random.default_rng(2)
    features = discriminant_features(rng.normal(size=(30, 8)), {"chars": rng.integers(1, 900, 30).astype(float),
                                                                 "flat": np.ones(30)})
    assert features.shape == (30, 9)  # the constant descriptor is dropped
    np.testing.assert_allclose((features[:, :8] ** 2).sum(axis=1).mean(), 1.0)
    np.testing.assert_allclose((features[:, 8:] ** 2).sum(axis=1).mean(), 1.0)


def test_local_excess_is_the_top_mean_neighbour_z_of_either_side():
    z = np.random.default_rng(3).normal(size=(30, 4))
    masks = permutation_masks(12, 18, 20, seed=0)
    kernel = rbf_kernel(squared_distances(z), 0.5 * median_heuristic(squared_distances(z)))
    expected = []
    for mask in masks:  # the module docstring's definition, one text at a time
        scores = []
        for i in range(30):
            others = np.arange(30) != i
            weights, current = kernel[i, others], ~mask[others]
            share = current.mean()
            scores.append((weights @ current - share * weights.sum())
                          / np.sqrt(share * (1 - share) * (weights**2).sum()))
        scores = np.array(scores)
        k = round(0.1 * 12)  # 10% of the smaller window
        expected.append(max(np.sort(scores[~mask])[-k:].mean(), np.sort(-scores[mask])[-k:].mean()))
    np.testing.assert_allclose(local_excess_for_masks(kernel, masks), expected, rtol=1e-10)


def test_local_excess_sees_a_small_new_cluster_that_the_median_mmd_misses():
    """80 points against 72 like them and 8 (10%) from a tight cluster at the typical distance:
    the median-bandwidth MMD² averages the 8 over 80 x 80 pairs, the local excess looks where they
    are. Eight draws, 199 labellings each (measured: local 0.005-0.03, MMD² 0.07-0.49). The side
    that gained the cluster does not matter: swapping the labels gives the same statistic."""
    caught, missed_by_mmd = 0, 0
    for seed in range(8):
        rng = np.random.default_rng(seed)
        base, cur = rng.normal(size=(80, 16)), rng.normal(size=(80, 16))
        cur[:8] = 0.5 + 0.1 * rng.normal(size=(8, 16))
        d2 = squared_distances(np.concatenate([base, cur]))
        masks = permutation_masks(80, 80, 199, seed=1)
        median = median_heuristic(d2)
        local = local_excess_for_masks(rbf_kernel(d2, 0.25 * median), masks)
        np.testing.assert_allclose(local_excess_for_masks(rbf_kernel(d2, 0.25 * median), ~masks), local)
        caught += upper_tail_pvalues(local)[0, 0] <= 0.05
        missed_by_mmd += upper_tail_pvalues(mmd2_for_masks(rbf_kernel(d2, median), masks))[0, 0] > 0.05
    assert caught == 8 and missed_by_mmd >= 6, (caught, missed_by_mmd)


def test_view_weights_share_the_descriptors_budget():
    kinds = ["mmd-rbf", "local-excess", "hotelling", "ks", "ks", "rate-gap"]
    weights = view_weights(kinds)
    assert weights[:3].tolist() == [VIEW_WEIGHTS["mmd-rbf"], VIEW_WEIGHTS["local-excess"], VIEW_WEIGHTS["hotelling"]]
    assert weights[3:].sum() == pytest.approx(VIEW_WEIGHTS["descriptors"]) and len(set(weights[3:])) == 1
    assert view_weights(kinds[:3]).tolist() == weights[:3].tolist()  # no descriptors: nothing to share


def test_paired_masks_swap_within_pairs_and_permute_the_rest():
    pairs = np.array([[0, 6], [2, 9], [3, 7]])  # pooled rows: x = 0..4, y = 5..10
    masks = paired_masks(5, 6, pairs, 300, seed=4)
    assert masks[0, :5].all() and not masks[0, 5:].any()
    assert (masks.sum(axis=1) == 5).all()  # every labelling keeps the window sizes
    assert (masks[:, pairs[:, 0]] != masks[:, pairs[:, 1]]).all()  # one answer of each pair per side
    swaps = masks[1:, pairs[:, 1]].mean(axis=0)
    assert ((0.4 < swaps) & (swaps < 0.6)).all()  # each pair swapped about half the time
    rest = np.setdiff1d(np.arange(11), pairs.ravel())
    assert (masks[:, rest].sum(axis=1) == 2).all()  # unpaired: 2 of x's 5 rows, shuffled among themselves
    assert len({row.tobytes() for row in masks[1:, rest]}) == 10  # all C(5, 2) arrangements drawn
    np.testing.assert_array_equal(masks, paired_masks(5, 6, pairs, 300, seed=4))


def test_match_pairs_by_prompt_hash_with_repeats():
    baseline = [prompt_key(p) for p in ("a b", "c", "a  b", "d")]
    current = [prompt_key(p) for p in ("c", "a b", "e", " a b")]
    # "a b" twice on both sides (whitespace collapsed), "c" once; "d" and "e" unmatched.
    assert match_pairs(baseline, current).tolist() == [[0, 1], [1, 0], [2, 3]]
    assert match_pairs(baseline, []).shape == (0, 2)


def combined_pvalue(stats: np.ndarray, weights: np.ndarray | None = None) -> float:
    """The harmonic combination on permutation ranks."""
    return harmonic_pvalue(np.log(upper_tail_pvalues(stats)), weights)


def test_combined_pvalue_is_the_rank_of_the_observed_harmonic_sum():
    stats = np.random.default_rng(5).normal(size=(4, 100))
    combined = (1 / upper_tail_pvalues(stats)).sum(axis=0)
    assert combined_pvalue(stats) == pytest.approx((combined >= combined[0]).mean())
    stats[1, 0] = 9.0  # one sharp member among three blind ones still decides
    assert combined_pvalue(stats) <= 0.05


def test_weighted_combination_is_the_rank_of_the_observed_weighted_harmonic_sum():
    stats = np.random.default_rng(7).normal(size=(4, 200))
    stats[0, 0] = 2.2  # a moderately sharp member among three blind ones
    weights = np.array([2.0, 1.0, 1.0, 1.0])
    combined = weights @ (1 / upper_tail_pvalues(stats))
    assert combined_pvalue(stats, weights) == pytest.approx((combined >= combined[0]).mean())
    assert combined_pvalue(stats, np.ones(4)) == combined_pvalue(stats)
    assert combined_pvalue(stats, weights) < combined_pvalue(stats)  # its weight keeps it from dilution


def test_combined_false_alarm_rate_is_alpha_and_one_sharp_member_still_decides():
    """Exchangeable labellings, 12 members, 3 of them copies: alarms at 0.05 about 5% of the time.
    One informative member among 11 blind ones: the harmonic combination keeps as much of its
    power as min-P (today's combination, which pays for the family size) and over twice what
    Fisher's sum keeps (measured: 87, 90 and 37 alarms, the member alone 187, of 300)."""
    rng = np.random.default_rng(6)
    trials, alarms = 300, 0
    power = dict.fromkeys(("alone", "harmonic", "min-P", "Fisher"), 0)
    for _ in range(trials):
        null = rng.normal(size=(12, 200))
        null[9:] = null[0]
        alarms += combined_pvalue(null) <= 0.05
        shifted = null.copy()
        shifted[0, 0] += 2.0
        pvalues = upper_tail_pvalues(shifted)
        fisher = -np.log(pvalues).sum(axis=0)
        power["alone"] += pvalues[0, 0] <= 0.05
        power["harmonic"] += combined_pvalue(shifted) <= 0.05
        power["min-P"] += minp_adjust(pvalues)[1].min() <= 0.05
        power["Fisher"] += (fisher >= fisher[0]).mean() <= 0.05
    assert 0.025 <= alarms / trials <= 0.08
    assert power["harmonic"] >= 0.85 * power["min-P"] and power["harmonic"] >= 2 * power["Fisher"], power


def test_evidence_shares_are_each_members_part_of_the_observed_weighted_sum():
    log_p = np.array([np.log([0.01, 0.5]), np.log([0.2, 0.1]), [-700.0, -1.0]])  # p = e^-700, below 1e-300
    weights = np.array([4.0, 1.0, np.exp(-695.0)])
    expected = np.array([400.0, 5.0, np.exp(5.0)])  # w/p
    np.testing.assert_allclose(evidence_shares(log_p, weights), expected / expected.sum(), rtol=1e-9)
    np.testing.assert_allclose(evidence_shares(log_p[:2]), [100 / 105, 5 / 105], rtol=1e-12)
    np.testing.assert_allclose(evidence_shares(log_p, np.array([4.0, 1.0, 0.0])), [400 / 405, 5 / 405, 0.0])
    family = np.log(np.random.default_rng(8).uniform(size=(3, 101)))
    family[0, 0], family[2, 0] = np.log(0.3), np.log(1e-9)  # the third would decide, but weighs 0
    assert harmonic_pvalue(family, np.array([1.0, 1.0, 0.0])) == harmonic_pvalue(family[:2]) > 0.05
    assert harmonic_pvalue(family) <= 0.05


def test_members_leading_are_the_fewest_whose_shares_pass_half():
    from functions.drift.report import DriftReport, TestResult

    def member(name: str, share: float | None) -> TestResult:
        return TestResult(name=name, test="ks", statistic=0.1, p_value=0.2, p_adjusted=0.5, moved=False,
                          evidence_share=share)

    def report(tests: list[TestResult]) -> DriftReport:
        return DriftReport(field="prompt", drift=True, p_value=0.01, statistic=0.0, method="m", alpha=0.05,
                           n_baseline=10, n_current=10, n_permutations=99, seed=0, bandwidth=1.0,
                           centroid_distance=0.0, tests=tests, clusters=[], embedder="e")

    three = report([member("digits", 0.3), member("local", 0.45), member("mmd", 0.25)])
    assert three.members_leading == ["local", "digits"] and three.members_moved == []
    assert report([member("local", 0.7), member("mmd", 0.3)]).members_leading == ["local"]
    assert report([member("local", None)]).members_leading == []  # stored before shares existed
