"""Descriptors from records, and their statistics under relabelling."""
from __future__ import annotations

import numpy as np
from scipy.stats import ks_2samp

from functions.drift.descriptors import (
    align_descriptors,
    descriptor_stats,
    ks_for_masks,
    rate_gap_for_masks,
    record_descriptors,
    text_descriptors,
)
from functions.drift.permutation import permutation_masks


def test_ks_matches_scipy_with_ties():
    values = np.random.default_rng(0).integers(0, 6, size=50).astype(float)  # heavy ties
    masks = permutation_masks(20, 30, 40, seed=0)
    ours = ks_for_masks(values, masks)
    expected = [ks_2samp(values[m], values[~m]).statistic for m in masks]
    np.testing.assert_allclose(ours, expected, atol=1e-12)


def test_rate_gap_and_kind_of_test():
    flags = np.array([True, True, False, False, False, True])
    masks = permutation_masks(3, 3, 10, seed=0)
    assert rate_gap_for_masks(flags, masks)[0] == abs(2 / 3 - 1 / 3)
    assert descriptor_stats(flags, masks)[0] == "rate-gap"
    assert descriptor_stats(flags.astype(float), masks)[0] == "ks"


def test_text_descriptors():
    d = text_descriptors(["one two\n\n- three", ""])
    assert d["chars"].tolist() == [16, 0]
    assert d["words"].tolist() == [4, 0]
    assert d["lines"].tolist() == [2, 0]


def test_stored_scores_give_quality_and_flags_without_the_scorer():
    records = [
        {"prompt": "p", "output": "fine answer", "scores": {"quality": 0.9, "flags": []}},
        {"prompt": "p", "output": "I cannot help", "scores": {"quality": 0.2, "flags": ["refusal"]}},
    ]
    d = record_descriptors(records, "output")
    assert d["quality"].tolist() == [0.9, 0.2]
    assert d["flag:refusal"].tolist() == [False, True]
    assert "quality" not in record_descriptors(records, "prompt")  # prompts: text shape only
    assert "quality" not in record_descriptors(records, "output", with_scores=False)


def test_align_fills_flags_raised_on_one_side_only():
    base = {"chars": np.ones(2), "flag:pii": np.array([True, False])}
    cur = {"chars": np.ones(3), "quality": np.ones(3)}
    b, c = align_descriptors(base, cur)
    assert sorted(b) == sorted(c) == ["chars", "flag:pii"]  # quality: one side only, dropped
    assert c["flag:pii"].tolist() == [False, False, False]
