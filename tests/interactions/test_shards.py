"""Ingest's sharded window aggregates and samples, on the local stack with real records: merged,
they equal what one unsharded item would hold, computed straight from the stored interactions."""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import boto3

from driftgate.local.deployment import REGION
from driftgate.testing.audit import bottom_k
from driftgate.testing.realdata import alpaca_records, gsm8k_records
from functions.common.contract import settings
from functions.common.repositories import repositories
from functions.interactions import shards

MODEL = "support-bot"


def _post(local: Any, records: list[dict]) -> None:
    for start in range(0, len(records), 40):
        response = local.api("POST", "/v1/interactions", {"interactions": records[start:start + 40]})
        assert response.status == 200, response.json()


def test_merged_shards_equal_an_unsharded_computation(local: Any) -> None:
    # The first window holds more records than a sample keeps, the second fewer.
    records = gsm8k_records(260, model=MODEL, day="2026-11-20") + alpaca_records("alpaca-7b", 120, model=MODEL,
                                                                                  day="2026-11-21")
    _post(local, records)
    _post(local, records[:60])  # a retried batch: duplicates change nothing
    feedback = records[:25]
    for record in feedback:
        assert local.api("POST", "/v1/feedback", {"request_id": record["request_id"], "rating": 1}).status == 200

    dynamodb = boto3.resource("dynamodb", region_name=REGION)
    items = dynamodb.Table(local.find("AWS::DynamoDB::Table", "StorageInteractions")).scan()["Items"]
    assert len(items) == len(records)
    expected: dict[str, Counter[str]] = defaultdict(Counter)
    for item in items:
        window = expected[item["window"]]
        window.update(n=1, sum_quality=float(item["quality"]), n_reference="exact_match" in item,
                      sum_exact_match=int(item.get("exact_match", 0)),
                      **{f"flag_{f}": 1 for f in item.get("flags", [])})
        if "feedback" in item:
            window.update(feedback_n=1, sum_feedback=1.0)

    with local.environment("ApiHandler"):
        state = repositories().state
        capacity = settings.reservoir_size
        assert 120 < capacity < 260
        merged = shards.windows(state, MODEL)
        assert [w["start"] for w in merged] == sorted(expected)
        for window in merged:
            want = expected[window["start"]]
            for name in ("n", "n_reference", "sum_exact_match", "feedback_n"):
                assert window.get(name, 0) == want[name], name
            assert abs(float(window["sum_quality"]) - want["sum_quality"]) < 1e-9
            assert {k: v for k, v in window.items() if k.startswith("flag_")} == {
                k: v for k, v in want.items() if k.startswith("flag_")}
            assert shards.window(state, MODEL, window["start"]) == window
            # The sample: exactly the bottom-k of every stored id of the window, one per record.
            ids = [i["request_id"] for i in items if i["window"] == window["start"]]
            sample = shards.sample_index().window_sample(MODEL, window["start"])
            assert sample.request_ids() == bottom_k(set(ids), capacity)
            assert len(ids) == window["n"]
            assert len(sample.entries) == min(len(ids), capacity)
        assert shards.windows(state, MODEL, newest_first=True, limit=1) == merged[-1:]
        parts = [item for item in state.table.scan()["Items"] if item["sk"].startswith("WINDOW#")]
    # Spread over the shards' partitions: no single item took every write.
    assert {p["pk"] for p in parts} == {f"SHARD#{s}#MODEL#{MODEL}" for s in range(settings.ingest_shards)}
    assert max(int(p["n"]) for p in parts) < max(w["n"] for w in merged) / 3
