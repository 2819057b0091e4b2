"""Effect sizes beside the drift decision: exact values worked out by hand, the properties of
each divergence, and on real data a real shift reads larger than a split of one distribution."""
from __future__ import annotations

import math

import numpy as np
import pytest

from driftgate.testing.realdata import gsm8k_records
from functions.drift import detect_drift, window_from_records
from functions.drift.divergence import (
    PSI_EPSILON,
    effect_sizes,
    js_divergence,
    kl_divergence,
    psi,
    psi_size,
    smoothed_shares,
)
from tests.drift.conftest import MIXTRAL, load


def test_smoothed_kl_and_js_by_hand():
    # Counts (1, 3) against (3, 1) with 0.5 added to each: shares (0.3, 0.7) and (0.7, 0.3).
    current, baseline = smoothed_shares(np.array([1, 3])), smoothed_shares(np.array([3, 1]))
    assert current.tolist() == pytest.approx([0.3, 0.7]) and baseline.tolist() == pytest.approx([0.7, 0.3])
    # KL = 0.3 ln(3/7) + 0.7 ln(7/3) = 0.4 ln(7/3); the mixture is (1/2, 1/2), so
    # JS = 0.3 ln(0.6) + 0.7 ln(1.4) from either side.
    assert kl_divergence(current, baseline) == pytest.approx(0.4 * math.log(7 / 3))
    assert js_divergence(current, baseline) == pytest.approx(0.3 * math.log(0.6) + 0.7 * math.log(1.4))
    # A category empty in the baseline: infinite KL without the pseudo-count, finite with it.
    assert kl_divergence(smoothed_shares(np.array([2, 2])), smoothed_shares(np.array([4, 0]))) == pytest.approx(
        0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1))


def test_psi_by_hand():
    # Baseline 0..9: its deciles 0.9, 1.8, ..., 8.1 put one value in each of 10 bins (0.1 each).
    # Current: five 0s (first bin, 0.5) and five 9s (last bin, 0.5); the 8 empty bins get 1e-4.
    value, bins = psi(np.arange(10.0), np.array([0.0] * 5 + [9.0] * 5))
    expected = 2 * (0.5 - 0.1) * math.log(0.5 / 0.1) + 8 * (PSI_EPSILON - 0.1) * math.log(PSI_EPSILON / 0.1)
    assert bins == 10 and value == pytest.approx(expected)
    # A flag at rate 1/4 then 1/2: (0.5 - 0.25) ln(0.5/0.25) + (0.5 - 0.75) ln(0.5/0.75).
    value, bins = psi(np.array([True, False, False, False]), np.array([True, True, False, False]))
    assert bins == 2 and value == pytest.approx(0.25 * math.log(2) + 0.25 * math.log(1.5))
    # Tied deciles merge: a 0/1/2 count's linear deciles are 0, 0, 0, 0, 0.5, 1, 1, 1.2, 2: 5 edges, 6 bins.
    assert psi(np.array([0.0] * 5 + [1.0] * 3 + [2.0] * 2), np.array([1.0, 2.0]))[1] == 6
    assert [psi_size(v) for v in (0.05, 0.1, 0.25, 0.26)] == ["small", "moderate", "moderate", "large"]


def test_properties():
    rng = np.random.default_rng(0)
    for _ in range(200):
        k = int(rng.integers(2, 9))
        p, q = rng.dirichlet(np.ones(k) * 0.3), rng.dirichlet(np.ones(k) * 0.3)
        assert js_divergence(p, q) == pytest.approx(js_divergence(q, p))
        assert 0 <= js_divergence(p, q) <= math.log(2) + 1e-12
        assert kl_divergence(p, q) >= 0 and kl_divergence(p, p) == pytest.approx(0, abs=1e-12)
        values = rng.normal(size=int(rng.integers(10, 60)))
        assert psi(values, values)[0] == pytest.approx(0, abs=1e-12)
        assert psi(values, values + 3)[0] > 0
    assert js_divergence(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(math.log(2))  # the bound


def halves(records, n, seed):
    order = np.random.default_rng(seed).permutation(len(records))
    return [records[i] for i in sorted(order[:n])], [records[i] for i in sorted(order[n:2 * n])]


@pytest.mark.slow
def test_real_shift_reads_larger_than_a_split_of_one_distribution(embedder):
    # Prompts: AlpacaEval chat against GSM8K maths (a domain shift) vs two random halves of AlpacaEval.
    chat_a, chat_b = halves(load(MIXTRAL), 80, seed=3)
    windows = {field: [window_from_records(w, field, embedder, with_scores=False) for w in pair]
               for field, pair in (("prompt", (chat_a, chat_b)), ("output", (chat_a, chat_b)))}
    same = effect_sizes(*windows["prompt"])
    shifted = effect_sizes(windows["prompt"][0], window_from_records(gsm8k_records(80), "prompt", embedder))
    assert shifted.cluster_kl > 3 * same.cluster_kl and shifted.cluster_js > 3 * same.cluster_js
    assert shifted.cluster_js <= math.log(2)
    # Outputs: Mixtral's concise answers to the same prompts, against Mixtral's own: length moves.
    concise = [load(MIXTRAL + "_concise")[int(r["id"].rsplit(":", 1)[1])] for r in chat_b]
    same_out = {r.name: r.psi for r in effect_sizes(*windows["output"]).psi}
    shifted_out = {r.name: r for r in effect_sizes(windows["output"][0],
                                                   window_from_records(concise, "output", embedder, False)).psi}
    assert shifted_out["chars"].psi > 3 * same_out["chars"] and shifted_out["chars"].size == "large"
    assert shifted_out["words"].psi > same_out["words"]


@pytest.mark.slow
def test_the_drift_report_carries_them_as_effect_sizes(embedder):
    chat, _ = halves(load(MIXTRAL), 40, seed=4)
    report = detect_drift(chat, gsm8k_records(40), "prompt", embedder=embedder, n_permutations=19)
    d = report.divergences
    assert d is not None and d.kind == "effect-sizes" and "not tests" in d.note and d.unit == "nats"
    assert d.clusters == len(report.clusters) and d.pseudo_count == 0.5
    # The same k-means as the report's cluster shifts: KL of its shares, smoothed, by hand.
    shares_b = np.array([c.share_baseline for c in sorted(report.clusters, key=lambda c: c.cluster)])
    shares_c = np.array([c.share_current for c in sorted(report.clusters, key=lambda c: c.cluster)])
    p_b, p_c = smoothed_shares(shares_b * 40), smoothed_shares(shares_c * 40)
    assert d.cluster_kl == pytest.approx(float(np.sum(p_c * np.log(p_c / p_b))))
    # A PSI for every descriptor the family tests (and for any constant one, which reads 0).
    named = {r.name for r in d.psi}
    assert {"chars", "words", "lines"} <= named
    assert {t.name for t in report.tests if t.test in ("ks", "rate-gap")} <= named
