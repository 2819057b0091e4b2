"""A window's uniform sample that ingest shards keep apart and merge exactly: a bottom-k sample.

Each record's rank is a 64-bit hash of its ``request_id``; a sample keeps the ``capacity``
records of smallest rank among those offered. Ranks of distinct ids behave as independent
uniform draws, so the kept records are a uniform sample without replacement of the records
offered. Unlike Algorithm R, nothing is coordinated: each shard keeps its own bottom-k, and the
bottom-k of the union of the shards' samples is exactly the bottom-k that one unsharded sample
would hold. A record offered twice is kept once.

The invariant: a sample holds every record it was offered whose rank is at most ``threshold``
(unbounded until it first overflows), and no other. An erasure removes records from the sample
and from what it was offered alike, so the invariant holds without changing the threshold; the
sample is then smaller than its capacity until new records of low enough rank fill it, and the
merge takes only ranks that every shard vouches for. (Ranks are public hashes: a client that
picks its own request ids can pick ranks. The sample is uniform over ids chosen independently
of it, not proof against an adversary.)
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Entry = dict[str, Any]  # {"request_id", "raw_key", "rank"}
UNBOUNDED = 2**64  # above every rank: the sample holds every record it was offered


def rank_of(request_id: str) -> int:
    return int.from_bytes(hashlib.sha256(request_id.encode()).digest()[:8], "big")


class BottomK:
    """The smallest-rank entries offered, at most ``capacity``."""

    def __init__(self, capacity: int, entries: Iterable[Entry] = (), threshold: int = UNBOUNDED) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.entries = sorted(entries, key=lambda e: e["rank"])
        self.threshold = threshold
        if len(self.entries) > capacity:
            raise ValueError(f"a sample of capacity {capacity} holds {len(self.entries)} entries")

    def offer(self, request_id: str, raw_key: str) -> bool:
        """Offer a record; True when the sample changed (once full, rarely: ``capacity / n`` for
        the n-th record), so a caller stores it only then."""
        rank = rank_of(request_id)
        if rank > self.threshold or any(e["request_id"] == request_id for e in self.entries):
            return False
        self.entries.append({"request_id": request_id, "raw_key": raw_key, "rank": rank})
        self.entries.sort(key=lambda e: e["rank"])
        if len(self.entries) > self.capacity:
            dropped = self.entries.pop()
            self.threshold = self.entries[-1]["rank"]
            return dropped["request_id"] != request_id
        return True

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
    """The bottom-``capacity`` sample of everything the ``samples`` (disjoint shards) were offered."""
    threshold = min((s.threshold for s in samples), default=UNBOUNDED)
    entries = sorted((e for s in samples for e in s.entries if e["rank"] <= threshold), key=lambda e: e["rank"])
    if len(entries) > capacity:
        entries = entries[:capacity]
        threshold = entries[-1]["rank"]
    return BottomK(capacity, entries, threshold)
