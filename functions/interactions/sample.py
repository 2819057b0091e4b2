"""A window's uniform sample that ingest shards keep apart and merge exactly: a bottom-k sample.

Each record's rank is a 64-bit hash of its ``request_id``; a window's sample is the ``capacity``
records of smallest rank. Ranks of distinct ids behave as independent uniform draws, so the kept
records are a uniform sample without replacement of the window's records. Nothing is kept or
coordinated at ingest: each record is stored with its rank, an index sorted by rank gives each
shard's bottom-k, and the bottom-k of the union of the shards' samples is exactly the bottom-k of
the whole window (``merge``). A retried record is one record; an erased one leaves the index, and
the next-ranked record takes its place, so the sample stays uniform over what is left.

A frozen baseline keeps its sample as a snapshot (``BottomK.to_json``): an erasure takes records
out of it (``without``) and nothing replaces them. (Ranks are public hashes: a client that picks
its own request ids can pick ranks. The sample is uniform over ids chosen independently of it,
not proof against an adversary.)
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Entry = dict[str, Any]  # {"request_id", "raw_key", "rank"}
UNBOUNDED = 2**64  # above every rank: the sample holds every record of its window


def rank_of(request_id: str) -> int:
    return int.from_bytes(hashlib.sha256(request_id.encode()).digest()[:8], "big")


class BottomK:
    """At most ``capacity`` entries: every record of rank at most ``threshold`` (unbounded: every
    record there is) that is not erased."""

    def __init__(self, capacity: int, entries: Iterable[Entry] = (), threshold: int = UNBOUNDED) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.entries = sorted(entries, key=lambda e: e["rank"])
        self.threshold = threshold
        if len(self.entries) > capacity:
            raise ValueError(f"a sample of capacity {capacity} holds {len(self.entries)} entries")

    def without(self, request_ids: set[str]) -> int:
        """Removes the entries of ``request_ids``; returns how many it held."""
        kept = [e for e in self.entries if e["request_id"] not in request_ids]
        removed = len(self.entries) - len(kept)
        self.entries = kept
        return removed

    def request_ids(self) -> list[str]:
        return [e["request_id"] for e in self.entries]

    def to_state(self) -> dict[str, Any]:
        return {"capacity": self.capacity, "threshold": self.threshold,
                "items": [dict(e) for e in self.entries]}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> BottomK:
        # Samples frozen before ranks existed (Algorithm R's state) get their entries' ranks here.
        entries = [{**e, "rank": int(e["rank"]) if "rank" in e else rank_of(e["request_id"])} for e in state["items"]]
        return cls(int(state["capacity"]), entries, int(state.get("threshold", UNBOUNDED)))

    def to_json(self) -> str:
        return json.dumps(self.to_state(), separators=(",", ":"))


def stored_sample(item: Mapping[str, Any]) -> BottomK:
    """The sample of a state-table item: its ``sample`` attribute, one JSON string (a map of 200
    entries costs DynamoDB's and moto's marshalling far more than one string), or the ``state``
    map that samples were stored as before."""
    return BottomK.from_state(json.loads(item["sample"]) if "sample" in item else item["state"])


def merge(samples: Sequence[BottomK], capacity: int) -> BottomK:
    """The bottom-``capacity`` sample of the union of the ``samples`` (disjoint shards): only ranks
    every shard vouches for (at most its threshold), so exactly the bottom-k of the whole."""
    threshold = min((s.threshold for s in samples), default=UNBOUNDED)
    entries = sorted((e for s in samples for e in s.entries if e["rank"] <= threshold), key=lambda e: e["rank"])
    if len(entries) > capacity:
        entries = entries[:capacity]
        threshold = entries[-1]["rank"]
    return BottomK(capacity, entries, threshold)
