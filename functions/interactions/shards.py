"""Write sharding of a model's busiest items: the window aggregates and the window sample.

Every record of a model used to update one aggregate item and one sample item per window, inside
transactions: DynamoDB serves at most 1,000 write units a second on one partition (and so on one
item), and transactions on one item conflict. Each record now goes to one of ``ingest_shards``
shards, chosen by a hash of its ``request_id`` (so a retry lands on the same shard), and each
shard is its own partition key. Readers merge the shards: aggregates are sums, and samples are
bottom-k samples (``functions.interactions.sample``) read from the interactions table's sample
index, one Query per shard, so both merge exactly.

Aggregates written before sharding, under the model's own partition, are read and added too.
The per-version aggregates the canary compares (``served``) live in the same shard partitions.
"""
from __future__ import annotations

import hashlib
from decimal import Decimal
from functools import lru_cache
from typing import Any

from functions.common.clients import client, region
from functions.common.contract import (
    WINDOW_PREFIX,
    model_pk,
    sample_partition,
    served_sk,
    settings,
    shard_pk,
    window_sk,
)
from functions.common.repositories import StateRepository
from functions.interactions.sample import UNBOUNDED, BottomK, merge

# Attributes of an aggregate item that are not counts or sums.
_LABELS = frozenset({"pk", "sk", "start", "model", "shard", "adapter_version"})


def shard_of(request_id: str) -> int:
    return int.from_bytes(hashlib.sha256(b"shard:" + request_id.encode()).digest()[:4], "big") % shard_count()


def shard_count() -> int:
    return settings.ingest_shards


def partitions(model: str) -> list[str]:
    """Where the model's aggregates may live: the pre-sharding partition, then every shard."""
    return [model_pk(model)] + [shard_pk(model, shard) for shard in range(shard_count())]


def add_counts(into: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    """Adds ``item``'s counts and sums (every number but its labels) into ``into``."""
    for name, value in item.items():
        if name not in _LABELS and isinstance(value, int | float | Decimal):
            into[name] = into.get(name, 0) + value
    return into


def merge_aggregates(model: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One item per window (``start``), oldest first, its counts and sums added over shards."""
    merged: dict[str, dict[str, Any]] = {}
    for item in items:
        start = str(item.get("start") or item["sk"].removeprefix(WINDOW_PREFIX))
        add_counts(merged.setdefault(start, {"pk": model_pk(model), "sk": window_sk(start), "start": start,
                                             "model": model}), item)
    return [merged[start] for start in sorted(merged)]


def served(state: StateRepository, model: str, version: int) -> dict[str, Any]:
    """What the interactions ``version`` served (as apps reported it) sum to, over every shard:
    ``n``, ``sum_quality``, ``sum_sq_quality``, ``flag_<name>`` counts, ``feedback_n``,
    ``sum_feedback``, ``sum_sq_feedback`` (each absent while 0). These exist only since sharding."""
    total: dict[str, Any] = {"model": model, "adapter_version": version}
    for shard in range(shard_count()):
        if item := state.get(shard_pk(model, shard), served_sk(version)):
            add_counts(total, item)
    return total


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


class SampleIndex:
    """The interactions table's sample index: each window shard's records sorted by rank."""

    def __init__(self, *, dynamodb: Any, table: str, index: str) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self.index = index

    def shard(self, model: str, start: str, shard: int, capacity: int) -> BottomK:
        """The shard's bottom-``capacity``: one Query, smallest ranks first (pages only past 1 MB)."""
        request: dict[str, Any] = {
            "TableName": self.table, "IndexName": self.index, "Limit": capacity, "ScanIndexForward": True,
            "KeyConditionExpression": "sample_pk = :p",
            "ExpressionAttributeValues": {":p": {"S": sample_partition(model, start, shard)}},
        }
        entries: list[dict[str, Any]] = []
        while len(entries) < capacity:
            page = self.dynamodb.query(**request)
            entries += [{"request_id": i["request_id"]["S"], "raw_key": i["raw_key"]["S"],
                         "rank": int(i["sample_rank"]["N"])} for i in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                break
            request.update(ExclusiveStartKey=page["LastEvaluatedKey"], Limit=capacity - len(entries))
        entries = entries[:capacity]
        # A full shard vouches for ranks up to its last; a shorter one holds all its records.
        threshold = entries[-1]["rank"] if len(entries) == capacity else UNBOUNDED
        return BottomK(capacity, entries, threshold)

    def window_sample(self, model: str, start: str, capacity: int | None = None) -> BottomK:
        """The window's sample, its shards merged: the bottom-``capacity`` of the window's records."""
        capacity = capacity or settings.reservoir_size
        return merge([self.shard(model, start, s, capacity) for s in range(shard_count())], capacity)


@lru_cache(maxsize=8)
def _build(region_name: str | None, table: str, index: str) -> SampleIndex:
    return SampleIndex(dynamodb=client("dynamodb"), table=table, index=index)


def sample_index() -> SampleIndex:
    return _build(region(), settings.interactions_table, settings.interactions_sample_index)
