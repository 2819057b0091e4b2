"""The bottom-k window sample: uniform, resumable, and merged over shards exactly as one unsharded
sample would hold it, before and after an erasure."""
from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from scipy.stats import chisquare

from driftgate.paths import data_dir
from driftgate.testing.realdata import load_jsonl
from functions.common.contract import settings
from functions.interactions.sample import UNBOUNDED, BottomK, merge, rank_of
from functions.interactions.shards import shard_of


def _real_ids() -> list[str]:
    """Request ids shaped as users send them: the ids of the shared data's records."""
    return [r["id"] for r in load_jsonl(data_dir() / "gsm8k" / "test.jsonl")]


def _sharded(ids: list[str], capacity: int, *, stored: bool = True) -> list[BottomK]:
    """Each id offered to its shard's sample; ``stored``: through its JSON state, as ingest does."""
    shards = [BottomK(capacity) for _ in range(settings.ingest_shards)]
    for request_id in ids:
        shard = shard_of(request_id)
        if stored:
            shards[shard] = BottomK.from_state(json.loads(json.dumps(shards[shard].to_state())))
        shards[shard].offer(request_id, "raw")
    return shards


def test_keeps_everything_until_full_then_the_smallest_ranks() -> None:
    sample = BottomK(5)
    for i in range(3):
        sample.offer(f"r{i}", "raw/a")
    assert set(sample.request_ids()) == {"r0", "r1", "r2"} and sample.threshold == UNBOUNDED
    changed = [sample.offer(f"r{i}", "raw/b") for i in range(3, 500)]
    smallest = sorted((f"r{i}" for i in range(500)), key=rank_of)[:5]
    assert sample.request_ids() == smallest
    assert sample.threshold == rank_of(smallest[-1])
    # Each offer says whether it changed the sample: once full, few do (a caller writes only then).
    assert changed[:2] == [True, True] and 5 < sum(changed) < 60
    assert not sample.offer("r0", "raw/a") and not sample.offer(smallest[0], "raw/a")


def test_every_record_is_kept_with_equal_probability() -> None:
    stream, capacity, trials = 60, 6, 3000
    counts = np.zeros(stream)
    for trial in range(trials):
        sample = BottomK(capacity)
        for i in range(stream):
            sample.offer(f"{trial}/{i}", "raw")
        counts[[int(e["request_id"].split("/")[1]) for e in sample.entries]] += 1
    assert chisquare(counts).pvalue > 0.001
    assert np.abs(counts / (trials * capacity / stream) - 1).max() < 0.25  # early and late alike


def test_shards_merged_equal_one_unsharded_sample_on_real_ids() -> None:
    ids = _real_ids()
    assert len(ids) > 1000
    whole = BottomK(200)
    for request_id in ids:
        whole.offer(request_id, "raw")
    shards = _sharded(ids, 200)
    assert sum(1 for s in shards if s.entries) == settings.ingest_shards  # the ids really spread
    merged = merge(shards, 200)
    assert merged.request_ids() == whole.request_ids()
    assert merged.threshold == whole.threshold == whole.entries[-1]["rank"]
    # Below capacity a shard holds everything it saw, and so does the merge.
    few = _sharded(ids[:50], 200)
    assert sorted(merge(few, 200).request_ids()) == sorted(ids[:50])


def test_a_retried_record_is_kept_once() -> None:
    sample = BottomK(10)
    for request_id in ["a", "b", "a"]:
        sample.offer(request_id, "raw")
    assert sorted(sample.request_ids()) == ["a", "b"]


@pytest.mark.parametrize("sharded", [False, True])
def test_the_sample_stays_uniform_after_an_erasure(sharded: bool) -> None:
    """Erase 10 of 40 records from samples of capacity 10, offer 20 more: every record left (old or
    new) is kept equally often, and no erased one ever again."""
    kept, trials = Counter(), 4000
    for trial in range(trials):
        ids = [f"{trial}/{i}" for i in range(60)]
        shards = _sharded(ids[:40], 10, stored=False) if sharded else [BottomK(10)]
        if not sharded:
            for request_id in ids[:40]:
                shards[0].offer(request_id, "raw")
        erased = set(ids[:10])
        for shard in shards:
            shard.without(erased)
        for request_id in ids[40:]:
            shards[shard_of(request_id) if sharded else 0].offer(request_id, "raw")
        merged = merge(shards, 10)
        assert not erased & set(merged.request_ids()) and len(merged.entries) <= 10
        kept.update(int(i.split("/")[1]) for i in merged.request_ids())
    rates = np.array([kept[i] for i in range(10, 60)])
    assert chisquare(rates).pvalue > 0.001, rates
    assert not set(kept) & set(range(10))


def test_bad_state_is_refused() -> None:
    with pytest.raises(ValueError):
        BottomK(0)
    with pytest.raises(ValueError):
        BottomK(1, [{"request_id": "a", "raw_key": "k", "rank": 1}, {"request_id": "b", "raw_key": "k", "rank": 2}])
