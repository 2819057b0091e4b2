"""Algorithm R: bounded, uniform, and resumable from its JSON state."""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import chisquare

from functions.drift import Reservoir


def test_bounded_and_keeps_everything_until_full():
    r = Reservoir(capacity=5, seed=0)
    r.extend(range(3))
    assert r.items == [0, 1, 2] and r.seen == 3
    r.extend(range(3, 1000))
    assert len(r) == 5 and r.seen == 1000
    assert len(set(r.items)) == 5 and all(0 <= x < 1000 for x in r.items)


def test_every_item_is_kept_with_equal_probability():
    stream, capacity, trials = 60, 6, 3000
    counts = np.zeros(stream)
    for seed in range(trials):
        r = Reservoir(capacity, seed=seed)
        r.extend(range(stream))
        counts[r.items] += 1
    expected = trials * capacity / stream
    assert chisquare(counts).pvalue > 0.001
    assert np.abs(counts / expected - 1).max() < 0.25  # early and late items alike


def test_resuming_from_stored_state_equals_an_uninterrupted_run():
    whole = Reservoir(capacity=10, seed=7)
    whole.extend(range(500))
    part = Reservoir(capacity=10, seed=7)
    part.extend(range(200))
    restored = Reservoir.from_state(json.loads(json.dumps(part.to_state())))
    restored.extend(range(200, 500))
    assert restored.to_state() == whole.to_state()


def test_seeds_differ_and_bad_state_is_refused():
    a, b = Reservoir(10, seed=1), Reservoir(10, seed=2)
    a.extend(range(1000))
    b.extend(range(1000))
    assert a.items != b.items
    with pytest.raises(ValueError):
        Reservoir(capacity=10, seed=0, items=[1, 2], seen=50)
    with pytest.raises(ValueError):
        Reservoir(capacity=0)
