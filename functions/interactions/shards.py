"""Write sharding of a model's busiest items: the window aggregates and the window sample.

Every record of a model used to update one aggregate item and one sample item per window, inside
transactions: DynamoDB serves at most 1,000 write units a second on one partition (and so on one
item), and transactions on one item conflict. Each record now goes to one of ``ingest_shards``
shards, chosen by a hash of its ``request_id`` (so a retry lands on the same shard), and each
shard is its own partition key. Readers merge the shards: aggregates are sums, and samples are
bottom-k samples (``functions.interactions.sample``), so both merge exactly.

Aggregates written before sharding, under the model's own partition, are read and added too.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from decimal import Decimal
from typing import Any

from functions.common.contract import WINDOW_PREFIX, model_pk, reservoir_sk, settings, shard_pk, window_sk
from functions.common.repositories import StateRepository
from functions.interactions.sample import BottomK, merge, stored_sample

# Attributes of an aggregate item that are not counts or sums.
_LABELS = frozenset({"pk", "sk", "start", "model", "shard"})


def shard_of(request_id: str) -> int:
    return int.from_bytes(hashlib.sha256(b"shard:" + request_id.encode()).digest()[:4], "big") % shard_count()


def shard_count() -> int:
    return settings.ingest_shards


def partitions(model: str) -> list[str]:
    """Where the model's aggregates may live: the pre-sharding partition, then every shard."""
    return [model_pk(model)] + [shard_pk(model, shard) for shard in range(shard_count())]


def merge_aggregates(model: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One item per window (``start``), oldest first, its counts and sums added over shards."""
    merged: dict[str, dict[str, Any]] = {}
    for item in items:
        start = str(item.get("start") or item["sk"].removeprefix(WINDOW_PREFIX))
        into = merged.setdefault(start, {"pk": model_pk(model), "sk": window_sk(start), "start": start,
                                         "model": model})
        for name, value in item.items():
            if name not in _LABELS and isinstance(value, int | float | Decimal):
                into[name] = into.get(name, 0) + value
    return [merged[start] for start in sorted(merged)]


def windows(state: StateRepository, model: str, *, newest_first: bool = False,
            limit: int | None = None) -> list[dict[str, Any]]:
    """The model's window aggregates, merged. With ``limit``, the newest (or oldest) ``limit``
    windows: each partition's own newest ``limit`` hold every part of those."""
    items = [item for pk in partitions(model)
             for item in state.query(pk, WINDOW_PREFIX, newest_first=newest_first, limit=limit)]
    merged = merge_aggregates(model, items)
    if newest_first:
        merged.reverse()
    return merged[:limit] if limit else merged


def window(state: StateRepository, model: str, start: str) -> dict[str, Any] | None:
    parts = [item for pk in partitions(model) if (item := state.get(pk, window_sk(start)))]
    return merge_aggregates(model, parts)[0] if parts else None


def window_sample(state: StateRepository, model: str, start: str) -> BottomK | None:
    """The window's sample, merged over shards."""
    parts = [stored_sample(item) for shard in range(shard_count())
             if (item := state.get(shard_pk(model, shard), reservoir_sk(start)))]
    return merge(parts, max(p.capacity for p in parts)) if parts else None


def by_shard(request_ids: list[str]) -> dict[int, list[str]]:
    groups: dict[int, list[str]] = defaultdict(list)
    for request_id in request_ids:
        groups[shard_of(request_id)].append(request_id)
    return dict(groups)
