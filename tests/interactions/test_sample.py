"""The bottom-k window sample: uniform, and merged over shards exactly as the bottom-k of the whole
window, before and after an erasure; the frozen snapshot's state round-trips."""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import chisquare

from driftgate.paths import data_dir
from driftgate.testing.audit import bottom_k
from driftgate.testing.realdata import load_jsonl
from functions.common.contract import settings
from functions.interactions.sample import UNBOUNDED, BottomK, merge, rank_of, stored_sample
from functions.interactions.shards import shard_of


def _shards(ids: list[str], capacity: int) -> list[BottomK]:
    """What the sample index answers per shard: the shard's ``capacity`` smallest ranks, with the
    threshold it vouches for (its last rank when full)."""
    samples = []
    for shard in range(settings.ingest_shards):
        ranked = sorted((i for i in ids if shard_of(i) == shard), key=rank_of)[:capacity]
        entries = [{"request_id": i, "raw_key": "raw", "rank": rank_of(i)} for i in ranked]
        samples.append(BottomK(capacity, entries, entries[-1]["rank"] if len(entries) == capacity else UNBOUNDED))
    return samples


def test_the_smallest_ranks_are_a_uniform_sample() -> None:
    stream, capacity, trials = 60, 6, 3000
    counts = np.zeros(stream)
    for trial in range(trials):
        kept = bottom_k({f"{trial}/{i}" for i in range(stream)}, capacity)
        counts[[int(i.split("/")[1]) for i in kept]] += 1
    assert chisquare(counts).pvalue > 0.001
    assert np.abs(counts / (trials * capacity / stream) - 1).max() < 0.25


def test_shards_merged_equal_the_bottom_k_of_the_whole_window_on_real_ids() -> None:
    ids = [r["id"] for r in load_jsonl(data_dir() / "gsm8k" / "test.jsonl")]
    assert len(ids) > 1000
    shards = _shards(ids, 100)
    assert all(len(s.entries) == 100 for s in shards)  # every shard full: the merge must cut
    merged = merge(shards, 100)
    assert merged.request_ids() == bottom_k(set(ids), 100)
    assert merged.threshold == rank_of(merged.request_ids()[-1])
    # Below capacity every shard holds all of its records, and so does the merge.
    assert sorted(merge(_shards(ids[:50], 200), 200).request_ids()) == sorted(ids[:50])
    # A merge takes only ranks that every shard vouches for: a shard cut short at a low rank
    # leaves out higher ranks of the others that its own unseen records could have beaten.
    short = _shards(ids, 20)
    assert merge(short, 200).request_ids() == bottom_k(set(ids), len(merge(short, 200).entries))


def test_after_an_erasure_the_next_ranked_records_take_the_places() -> None:
    """The index drops an erased record; the window's sample is the bottom-k of what is left,
    so it stays uniform: every record left is sampled equally often, no erased one ever."""
    capacity, trials = 10, 3000
    counts = np.zeros(60)
    for trial in range(trials):
        ids = [f"{trial}/{i}" for i in range(60)]
        left = ids[10:]  # the first ten erased
        merged = merge(_shards(left, capacity), capacity)
        assert merged.request_ids() == bottom_k(set(left), capacity)
        counts[[int(i.split("/")[1]) for i in merged.request_ids()]] += 1
    assert not counts[:10].any()
    assert chisquare(counts[10:]).pvalue > 0.001


def test_a_frozen_snapshot_loses_only_the_erased_and_round_trips() -> None:
    ids = [f"r{i}" for i in range(30)]
    snapshot = merge(_shards(ids, 10), 10)
    restored = stored_sample({"sample": snapshot.to_json()})
    assert restored.request_ids() == snapshot.request_ids() and restored.threshold == snapshot.threshold
    gone = set(snapshot.request_ids()[:3])
    assert restored.without(gone | {"not-sampled"}) == 3
    assert restored.request_ids() == snapshot.request_ids()[3:]
    # A baseline frozen before ranks existed (Algorithm R's state map) still reads.
    legacy = {"state": {"capacity": 200, "seed": 1, "seen": 2, "items": [{"request_id": "a", "raw_key": "k"}]}}
    assert stored_sample(legacy).entries == [{"request_id": "a", "raw_key": "k", "rank": rank_of("a")}]
    assert json.loads(snapshot.to_json())["capacity"] == 10


def test_bad_state_is_refused() -> None:
    with pytest.raises(ValueError):
        BottomK(0)
    with pytest.raises(ValueError):
        BottomK(1, [{"request_id": "a", "raw_key": "k", "rank": 1}, {"request_id": "b", "raw_key": "k", "rank": 2}])
