"""The audit after a load (``driftgate.testing.load``): what the local stack stored, read straight
from moto's S3 and DynamoDB (``read_stored``), what the clients were told (``account``), and every
way either differs from exactly-once (``problems``)."""
from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3

from driftgate.local import LocalDeployment
from driftgate.testing.load import LoadResult, Plan
from functions.common.contract import SHARD_PREFIX
from functions.interactions.sample import BottomK, rank_of
from functions.interactions.shards import sample_index


@dataclass
class Stored:
    """What the stack holds after the load, read straight from moto's S3 and DynamoDB."""

    s3_objects: dict[str, list[str]]  # raw key -> request ids, one per JSON line
    dynamo_ids: Counter[str]
    item_raw_keys: dict[str, str | None]  # request id -> the raw object its item names
    dynamo_by_window: Counter[tuple[str, str]]  # (model, window) -> items
    window_n: dict[tuple[str, str], int]  # the aggregate items' count ``n``
    window_ids: dict[tuple[str, str], set[str]]  # (model, window) -> the ids of its items
    samples: dict[tuple[str, str], BottomK]  # (model, window) -> its sample, the shards merged
    reservoir_refs: list[tuple[str, str]]  # (request id, raw key) the samples point to

    @property
    def s3_ids(self) -> Counter[str]:
        return Counter(i for ids in self.s3_objects.values() for i in ids)

    @property
    def s3_lines(self) -> int:
        return sum(map(len, self.s3_objects.values()))


def _scan(dynamodb: Any, table: str) -> Iterator[dict[str, Any]]:
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        yield from page["Items"]


def read_stored(stack: LocalDeployment) -> Stored:
    """Every raw object and every item; call only while no handler runs (the environment is
    process-wide)."""
    with stack.environment("ApiHandler"):
        bucket, table, state = (os.environ[k] for k in ("RAW_BUCKET", "INTERACTIONS_TABLE", "STATE_TABLE"))
    s3 = boto3.client("s3", region_name="us-east-1")
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    objects: dict[str, list[str]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="raw/"):
        for entry in page.get("Contents", []):
            text = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read().decode()
            objects[entry["Key"]] = [json.loads(line)["request_id"] for line in text.splitlines() if line]
    dynamo_ids: Counter[str] = Counter()
    item_keys: dict[str, str | None] = {}
    by_window: Counter[tuple[str, str]] = Counter()
    window_ids: dict[tuple[str, str], set[str]] = defaultdict(set)
    for item in _scan(dynamodb, table):
        dynamo_ids[item["request_id"]["S"]] += 1
        item_keys[item["request_id"]["S"]] = item.get("raw_key", {}).get("S")
        by_window[(item["model"]["S"], item["window"]["S"])] += 1
        window_ids[(item["model"]["S"], item["window"]["S"])].add(item["request_id"]["S"])
    window_n: dict[tuple[str, str], int] = {}
    for item in _scan(dynamodb, state):
        pk, sk = item["pk"]["S"], item["sk"]["S"]
        if pk.startswith(SHARD_PREFIX):  # SHARD#<n>#MODEL#<model>: the shards of a window add up
            pk = pk.split("#", 2)[2]
        model = pk.removeprefix("MODEL#")
        if sk.startswith("WINDOW#"):
            key = (model, sk.removeprefix("WINDOW#"))
            window_n[key] = window_n.get(key, 0) + int(item["n"]["N"])
    with stack.environment("ApiHandler"):  # what the drift check reads: the sample index, shards merged
        samples = {key: sample_index().window_sample(*key) for key in window_ids}
    refs = [(e["request_id"], e["raw_key"]) for sample in samples.values() for e in sample.entries]
    return Stored(objects, dynamo_ids, item_keys, by_window, window_n, dict(window_ids), samples, refs)


def bottom_k(request_ids: set[str], capacity: int) -> list[str]:
    """What one unsharded sample of these records holds: the ``capacity`` smallest ranks."""
    return sorted(request_ids, key=rank_of)[:capacity]


@dataclass(frozen=True)
class Accounting:
    """What the clients were told, against the plan."""

    accepted: Counter[str]  # request id -> responses that said "accepted"
    accepted_total: int  # sum of the responses' ``accepted``
    unreported: frozenset[str]  # stored ids no answered response accepted
    bad_status: int
    bad_totals: int  # responses whose accepted + duplicates is not the batch size
    resend_accepted: int  # records a re-send after a read response accepted (must be 0)


def account(plan: Plan, result: LoadResult) -> Accounting:
    accepted: Counter[str] = Counter()
    total = bad_status = bad_totals = resend_accepted = 0
    for attempt in result.answered():
        body = attempt.response or {}
        if attempt.status != 200:
            bad_status += 1
            continue
        total += body["accepted"]
        bad_totals += body["accepted"] + body["duplicates"] != len(attempt.job.records)
        accepted.update(r["request_id"] for r in body["results"] if r["status"] == "accepted")
        if attempt.kind == "resend":
            resend_accepted += body["accepted"]
    return Accounting(accepted, total, frozenset(plan.unique_ids - set(accepted)), bad_status, bad_totals,
                      resend_accepted)


def problems(plan: Plan, result: LoadResult, stored: Stored) -> list[str]:
    """Every way the stored data or the answers differ from exactly-once; empty when exact."""
    unique = len(plan.unique_ids)
    books = account(plan, result)
    found = []
    checks = {
        "S3 JSON lines": stored.s3_lines, "S3 distinct ids": len(stored.s3_ids),
        "DynamoDB items": sum(stored.dynamo_ids.values()), "DynamoDB distinct ids": len(stored.dynamo_ids),
        "window aggregates n": sum(stored.window_n.values()),
        "accepted + unreported": books.accepted_total + len(books.unreported),
    }
    found += [f"{name} = {value}, expected {unique}" for name, value in checks.items() if value != unique]
    if set(stored.s3_ids) != plan.unique_ids or set(stored.dynamo_ids) != plan.unique_ids:
        found.append("stored request ids differ from the ones sent")
    found += [f"window {w}: n {n} but {stored.dynamo_by_window.get(w, 0)} items"
              for w, n in stored.window_n.items() if n != stored.dynamo_by_window.get(w, 0)]
    found += [f"window {key}: its sample is not the bottom-k of its stored ids"
              for key, sample in stored.samples.items()
              if sample.request_ids() != bottom_k(stored.window_ids.get(key, set()), sample.capacity)]
    refs = [("sample", rid, key) for rid, key in stored.reservoir_refs]
    refs += [("item", rid, key) for rid, key in stored.item_raw_keys.items()]
    found += [f"{what} {rid} points to {key}, which lacks it"
              for what, rid, key in refs if key is None or rid not in stored.s3_objects.get(key, [])]
    if max(books.accepted.values(), default=1) > 1:
        found.append("an id was accepted by two responses")
    if not books.unreported <= result.lost_ids:
        unanswered = sorted(books.unreported - result.lost_ids)[:5]
        found.append(f"ids no answer accepted, outside unanswered batches: {unanswered}")
    found += [f"{name}: {value}" for name, value in (("non-200 responses", books.bad_status),
              ("responses with accepted + duplicates != batch size", books.bad_totals),
              ("records a resend accepted", books.resend_accepted)) if value]
    return found
