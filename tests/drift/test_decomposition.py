"""The shift-share split of the quality decay: exact on a hand-computed case, the empty-topic
conventions, and on real data the two kinds of decay it tells apart (scored by the project's own
scorer against the data's references)."""
from __future__ import annotations

import numpy as np
import pytest

from driftgate.testing.realdata import gsm8k_records
from functions.drift.decomposition import decompose_decay, decompose_records, record_quality
from functions.scoring import score
from tests.drift.conftest import MIXTRAL, draw, load

# Two topics far apart in a 2-d embedding space: "a*" prompts near (0, 0), "b*" near (10, 10).
A, B = [0.0, 0.0], [10.0, 10.0]


def topics(rows):
    return np.array([A if t.startswith("a") else B for t in rows]) + np.arange(len(rows))[:, None] * 1e-3


def by_topic(decomposition, prefix):
    (row,) = [r for r in decomposition.clusters if r.examples[0].startswith(prefix)]
    return row


def test_hand_computed_split_is_exact():
    # Baseline: topic a qualities 1.0, 0.8 (q0 = 0.9), topic b 0.4, 0.2 (q0 = 0.3): w0 = (1/2, 1/2), M0 = 0.6.
    # Current: a 0.7 (q1 = 0.7), b 0.3 x 3 (q1 = 0.3): w1 = (1/4, 3/4), M1 = 0.175 + 0.225 = 0.4.
    # mix = (1/2 - 1/4) 0.9 + (1/2 - 3/4) 0.3 = 0.15; within = 1/4 (0.9 - 0.7) + 3/4 (0.3 - 0.3) = 0.05.
    base, cur = ["a1", "a2", "b1", "b2"], ["a3", "b3", "b4", "b5"]
    d = decompose_decay(topics(base), topics(cur), np.array([1.0, 0.8, 0.4, 0.2]), np.array([0.7, 0.3, 0.3, 0.3]),
                        base, cur, k=2)
    assert d.delta == pytest.approx(0.2) and d.baseline_mean == pytest.approx(0.6)
    assert d.current_mean == pytest.approx(0.4)
    assert d.mix == pytest.approx(0.15) and d.within == pytest.approx(0.05)
    assert d.mix_share == pytest.approx(0.75) and d.within_share == pytest.approx(0.25)
    a, b = by_topic(d, "a"), by_topic(d, "b")
    assert (a.weight_baseline, a.weight_current, a.quality_baseline, a.quality_current) == pytest.approx(
        (0.5, 0.25, 0.9, 0.7))
    assert (a.mix, a.within, b.mix, b.within) == pytest.approx((0.225, 0.05, -0.075, 0.0))
    assert d.clusters[0] == a  # largest |mix + within| first


def test_empty_topics_and_unscored_records():
    # The current window has no record in topic a: q1 is None and its within term 0. Topic b's only
    # baseline record has no quality: q0 is taken as M0 = 0.8, and the split still sums to ΔM.
    base, cur = ["a1", "a2", "b1"], ["b2", "b3", "b4"]
    d = decompose_decay(topics(base), topics(cur), np.array([0.9, 0.7, np.nan]), np.array([0.5, np.nan, 0.3]),
                        base, cur, k=2)
    assert (d.n_baseline, d.n_current, d.unscored_baseline, d.unscored_current) == (2, 2, 1, 1)
    a, b = by_topic(d, "a"), by_topic(d, "b")
    assert a.quality_current is None and a.within == 0.0 and a.mix == pytest.approx(0.8)  # (1 - 0) * 0.8
    assert b.quality_baseline is None and b.examples_from == "baseline"
    assert b.mix == pytest.approx(-0.8) and b.within == pytest.approx(0.8 - 0.4)  # -1 * M0; 1 * (M0 - q1)
    assert d.delta == pytest.approx(0.8 - 0.4) and d.mix + d.within == pytest.approx(d.delta)
    assert d.mix_share == pytest.approx(0.0, abs=1e-12)


def test_no_scored_record_no_split():
    texts = ["a1", "b1"]
    assert decompose_decay(topics(texts), topics(texts), np.array([0.5, 0.5]), np.full(2, np.nan), texts, texts,
                           k=2) is None
    assert record_quality([{"scores": {"quality": 0.25}}, {"scores": {}}, {}]).tolist()[0] == 0.25
    assert np.isnan(record_quality([{"scores": {}}, {"scores": None}])).all()


def scored(records):
    """Each record scored by the project's scorer against the data's reference."""
    return [{**r, "scores": {"quality": score(r["prompt"], r["output"], r["reference"]).quality}} for r in records]


def check_exact(d, baseline, current):
    """ΔM is the sampled records' mean gap, and the two terms sum to it exactly."""
    means = [np.mean([r["scores"]["quality"] for r in w]) for w in (baseline, current)]
    assert d.delta == pytest.approx(means[0] - means[1], abs=1e-12)
    assert d.mix + d.within == pytest.approx(d.delta, abs=1e-12)
    assert sum(r.mix for r in d.clusters) == pytest.approx(d.mix, abs=1e-12)


@pytest.mark.slow
def test_a_changed_prompt_mix_is_data_drift(embedder):
    # The same answerers before and after: Mixtral-8x7B on AlpacaEval chat prompts (scored against
    # GPT-4-turbo's answers, quality ~0.27) and worked solutions on GSM8K maths (scored against the
    # answer key, ~0.71). The traffic moves from 60% maths to 14% maths: mean quality falls because
    # the mix moved, not because any answerer got worse.
    chat, maths = scored(draw(load(MIXTRAL), 160, seed=5)), scored(gsm8k_records(80))
    baseline, current = chat[:40] + maths[:60], chat[40:160] + maths[60:80]
    d = decompose_records(baseline, current, embedder)
    check_exact(d, baseline, current)
    assert d.delta > 0.1, d
    assert d.mix_share > 0.75 and abs(d.mix) > 3 * abs(d.within), (d.mix, d.within)


@pytest.mark.slow
def test_a_model_swap_is_concept_drift(embedder):
    # Same prompt sets (random AlpacaEval prompts, disjoint halves), the model swapped from
    # Mixtral-8x7B to alpaca-7b, both scored against GPT-4-turbo's answers: quality falls within
    # every kind of prompt.
    order = np.random.default_rng(7).permutation(805)
    baseline = scored([load(MIXTRAL)[i] for i in sorted(order[:120])])
    current = scored([load("alpaca-7b")[i] for i in sorted(order[120:240])])
    d = decompose_records(baseline, current, embedder)
    check_exact(d, baseline, current)
    assert d.delta > 0.05, d
    assert d.within_share > 0.9 and abs(d.within) > 10 * abs(d.mix), (d.mix, d.within)
    assert all(r.within > 0 for r in d.clusters if r.n_current >= 5)  # worse inside each topic
