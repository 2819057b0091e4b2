"""The public API through the local stack (API Gateway proxy events → the real handler → moto)."""
from __future__ import annotations

import json
from collections import Counter
from itertools import islice
from typing import Any

import boto3
import pytest

from driftgate.local.deployment import REGION
from driftgate.paths import data_dir
from functions.common.contract import settings
from functions.interactions.shards import shard_of


def real_records(generator: str, n: int, *, start: int = 0, model: str = "support-bot") -> list[dict]:
    """Real AlpacaEval interactions shaped as API records (reference kept out: no ROUGE cost)."""
    with open(data_dir() / "alpaca_eval" / f"{generator}.jsonl") as lines:
        rows = [json.loads(line) for line in islice(lines, start, start + n)]
    return [{"request_id": row["id"], "model": model, "prompt": row["prompt"], "output": row["output"],
             "metadata": {"prompt_set": row["prompt_set"]}, "timestamp": "2026-11-20T10:00:00Z"} for row in rows]


def interactions_table(local) -> Any:
    table = local.find("AWS::DynamoDB::Table", "StorageInteractions")
    return boto3.resource("dynamodb", region_name=REGION).Table(table)


def stored_counts(local, model: str = "support-bot") -> tuple[int, int, int]:
    """(DynamoDB items, distinct request ids in S3 raw objects, the window's n) for a model."""
    table = interactions_table(local)
    items = table.scan()["Items"]
    s3 = boto3.client("s3", region_name=REGION)
    bucket = local.find("AWS::S3::Bucket", "StorageRawInteractions")
    ids: set[str] = set()
    for obj in s3.list_objects_v2(Bucket=bucket, Prefix=f"raw/model={model}/").get("Contents", []):
        body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read().decode()
        ids.update(json.loads(line)["request_id"] for line in body.splitlines())
    quality = local.api("GET", f"/v1/models/{model}/quality")
    n = quality.json()["current"]["n"] if quality.status == 200 else 0
    return len(items), len(ids), n


def test_accepts_scores_and_stores_real_records(local) -> None:
    records = real_records("gpt4_1106_preview", 20)
    response = local.api("POST", "/v1/interactions", {"interactions": records})
    assert response.status == 200, response.body
    body = response.json()
    assert body["accepted"] == 20 and body["duplicates"] == 0
    for result in body["results"]:
        assert result["status"] == "accepted" and 0 <= result["quality"] <= 1
        assert result["rouge_l"] is None and isinstance(result["flags"], list)
    assert stored_counts(local) == (20, 20, 20)
    # Raw S3 objects are partitioned by model and day, one JSON line per record, with scores.
    s3 = boto3.client("s3", region_name=REGION)
    raw_bucket = local.find("AWS::S3::Bucket", "StorageRawInteractions")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=raw_bucket)["Contents"]]
    assert keys and all(k.startswith("raw/model=support-bot/date=2026-11-20/") and k.endswith(".jsonl") for k in keys)


def test_reference_based_scores_on_gsm8k(local) -> None:
    with open(data_dir() / "gsm8k" / "test.jsonl") as lines:
        row = json.loads(next(lines))
    answer = row["reference"].split("####")[-1].strip()
    records = [
        {"request_id": "gsm-right", "model": "math", "prompt": row["prompt"],
         "output": f"She makes ${answer}. The answer is {answer}.", "reference": row["reference"]},
        {"request_id": "gsm-wrong", "model": "math", "prompt": row["prompt"], "output": "The answer is 7.",
         "reference": row["reference"]},
    ]
    answer = local.api("POST", "/v1/interactions", {"interactions": records}).json()
    results = {r["request_id"]: r for r in answer["results"]}
    assert results["gsm-right"]["exact_match"] == 1 and results["gsm-wrong"]["exact_match"] == 0
    assert results["gsm-right"]["quality"] > results["gsm-wrong"]["quality"]
    window = local.api("GET", "/v1/models/math/quality").json()["current"]
    assert window["n_with_reference"] == 2 and window["exact_match_rate"] == 0.5


def test_retried_batch_changes_no_stored_count(local) -> None:
    records = real_records("alpaca-7b", 15)
    first = local.api("POST", "/v1/interactions", {"interactions": records}).json()
    before = stored_counts(local)
    retry = local.api("POST", "/v1/interactions", {"interactions": records}).json()
    assert first["accepted"] == 15
    assert retry["accepted"] == 0 and retry["duplicates"] == 15
    assert {r["status"] for r in retry["results"]} == {"duplicate"}
    assert stored_counts(local) == before == (15, 15, 15)
    # A batch overlapping the stored ones accepts only the new records; repeats inside a batch count once.
    mixed = records[:5] + real_records("alpaca-7b", 5, start=15) + real_records("alpaca-7b", 1, start=15)
    response = local.api("POST", "/v1/interactions", {"interactions": mixed}).json()
    assert response["accepted"] == 5 and response["duplicates"] == 6
    assert stored_counts(local) == (20, 20, 20)


def test_feedback_joins_the_stored_interaction(local) -> None:
    records = real_records("alpaca-7b", 3)
    local.api("POST", "/v1/interactions", {"interactions": records})
    correction = real_records("gpt4_1106_preview", 1)[0]["output"]
    response = local.api("POST", "/v1/feedback", {"request_id": records[0]["request_id"], "rating": -1,
                                                  "correction": correction})
    assert response.status == 200 and response.json()["feedback_score"] == 0.0 and response.json()["first_feedback"]
    stars = local.api("POST", "/v1/feedback", {"request_id": records[1]["request_id"], "rating": 5}).json()
    assert stars["feedback_score"] == 1.0
    again = local.api("POST", "/v1/feedback", {"request_id": records[1]["request_id"], "rating": 2}).json()
    assert again["first_feedback"] is False and again["feedback_score"] == 0.25
    table = interactions_table(local)
    stored = table.get_item(Key={"request_id": records[0]["request_id"]})["Item"]
    assert stored["feedback"]["correction"] == correction and stored["feedback"]["rating"] == -1
    window = local.api("GET", "/v1/models/support-bot/quality").json()["current"]
    # (0 + 1) / 2: only first feedback counts
    assert window["feedback_n"] == 2 and window["mean_feedback"] == pytest.approx(0.5)


def test_feedback_for_unknown_request_is_404(local) -> None:
    response = local.api("POST", "/v1/feedback", {"request_id": "never-sent", "rating": 1})
    assert response.status == 404 and "never-sent" in response.json()["message"]


def test_quality_compares_window_with_frozen_baseline(local) -> None:
    local.api("POST", "/v1/interactions", {"interactions": real_records("gpt4_1106_preview", 30)})
    frozen = local.api("POST", "/v1/models/support-bot/baseline")
    assert frozen.status == 200 and frozen.json()["baseline"]["n"] == 30
    degraded = real_records("alpaca-7b", 30, start=30)
    for record in degraded:
        record["timestamp"] = "2026-11-22T10:00:00Z"  # the next day's window
    local.api("POST", "/v1/interactions", {"interactions": degraded})
    quality = local.api("GET", "/v1/models/support-bot/quality").json()
    assert quality["baseline"]["n"] == 30 and quality["current"]["n"] == 30
    assert quality["current"]["start"] == "2026-11-22T00:00:00+00:00"
    assert quality["delta"] == pytest.approx(quality["baseline"]["mean_quality"] - quality["current"]["mean_quality"])
    assert local.api("GET", "/v1/models/unknown-model/quality").status == 404


BAD_INPUTS = [
    ("missing field", {"interactions": [{"request_id": "a", "model": "m", "prompt": "p"}]}, 422,
     "interactions.0.output"),
    ("wrong type", {"interactions": [{"request_id": "a", "model": "m", "prompt": 5, "output": "o"}]}, 422,
     "interactions.0.prompt"),
    ("wrong metadata type", {"interactions": [{"request_id": "a", "model": "m", "prompt": "p", "output": "o",
                                               "metadata": {"k": [1]}}]}, 422, "interactions.0.metadata"),
    ("unknown field", {"interactions": [{"request_id": "a", "model": "m", "prompt": "p", "output": "o", "promt": "x"}]},
     422, "interactions.0.promt"),
    ("bad format", {"interactions": [{"request_id": "a", "model": "m", "prompt": "p", "output": "o",
                                      "expected_format": "xml"}]}, 422, "expected_format"),
    ("naive timestamp", {"interactions": [{"request_id": "a", "model": "m", "prompt": "p", "output": "o",
                                           "timestamp": "2026-11-20T10:00:00"}]}, 422, "timestamp"),
    ("empty batch", {"interactions": []}, 422, "interactions"),
    ("too many records", {"interactions": [{"request_id": str(i), "model": "m", "prompt": "p", "output": "o"}
                                           for i in range(101)]}, 422, "at most 100"),
    ("not an object", [1, 2], 422, "body"),
]


@pytest.mark.parametrize(("case", "body", "status", "named"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_is_a_4xx_naming_the_problem_and_changes_nothing(local, case, body, status, named) -> None:
    local.api("POST", "/v1/interactions", {"interactions": real_records("gpt4_1106_preview", 5)})
    before = stored_counts(local)
    response = local.api("POST", "/v1/interactions", body)
    assert response.status == status, response.body
    assert named in response.json()["message"]
    assert stored_counts(local) == before


def test_invalid_json_oversized_and_bad_encoding_bodies(local) -> None:
    local.api("POST", "/v1/interactions", {"interactions": real_records("gpt4_1106_preview", 5)})
    before = stored_counts(local)
    invalid = local.api("POST", "/v1/interactions", raw_body='{"interactions": [')
    assert invalid.status == 400 and "not valid JSON" in invalid.json()["message"]
    big_output = " ".join(r["output"] for r in real_records("gpt4_1106_preview", 400)) * 2
    huge = {"interactions": [{"request_id": "big", "model": "support-bot", "prompt": "p", "output": big_output}]}
    assert len(json.dumps(huge)) > 1024 * 1024
    too_large = local.api("POST", "/v1/interactions", huge)
    assert too_large.status == 413 and "exceeds" in too_large.json()["message"]
    not_utf8 = local.api("POST", "/v1/interactions", raw_body=b'{"interactions": "\xff\xfe"}')
    assert not_utf8.status == 400 and "UTF-8" in not_utf8.json()["message"]
    form = local.api("POST", "/v1/interactions", raw_body="interactions=1",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status == 415 and "application/json" in form.json()["message"]
    bad_rating = local.api("POST", "/v1/feedback", {"request_id": "x", "rating": 3, "scale": "thumbs"})
    assert bad_rating.status == 400 and "rating" in bad_rating.json()["message"]
    assert stored_counts(local) == before


def test_openapi_document_lists_the_routes(local) -> None:
    spec = local.api("GET", "/v1/openapi.json").json()
    assert {"/v1/interactions", "/v1/feedback", "/v1/models/{model}/quality"} <= set(spec["paths"])
    assert "IngestRequest" in json.dumps(spec["components"])


def test_full_batch_over_several_windows_is_stored_exactly(local) -> None:
    """100 records (the API's limit) spread over 3 windows need more than one transaction."""
    records = real_records("alpaca-7b", 100)
    for i, record in enumerate(records):
        record["timestamp"] = f"2026-11-{20 + i % 3}T10:00:00Z"
    response = local.api("POST", "/v1/interactions", {"interactions": records}).json()
    assert response["accepted"] == 100
    table = boto3.resource("dynamodb", region_name=REGION).Table(local.find("AWS::DynamoDB::Table", "StorageState"))
    windows = [i for i in table.scan()["Items"] if i["sk"].startswith("WINDOW#")]
    per_window: Counter[str] = Counter()
    for item in windows:
        per_window[item["sk"]] += int(item["n"])
    assert sorted(per_window.values()) == [33, 33, 34]
    # No hot item: each window's count is spread over its shards' partitions, each by its records' ids.
    assert all(i["pk"].startswith("SHARD#") for i in windows) and len(windows) > 3 * settings.ingest_shards // 2
    by_shard = Counter((r["timestamp"][:10], shard_of(r["request_id"])) for r in records)
    assert sorted(by_shard.values()) == sorted(int(i["n"]) for i in windows)
    assert stored_counts(local)[:2] == (100, 100)


def test_transaction_chunks_respect_dynamodb_limit() -> None:
    from functions.interactions.store import TRANSACTION_LIMIT, NewInteraction, _chunks

    def record(i: int, window: str) -> NewInteraction:
        return NewInteraction(request_id=str(i), model="m", window=window, item={}, raw={}, quality=1.0,
                              exact_match=None, flags=())

    for windows in (1, 2, 7):
        records = [record(i, f"w{i % windows}") for i in range(250)]
        chunks = _chunks(records)
        assert sum(len(c) for c in chunks) == 250
        assert all(len(c) + len({(r.window, shard_of(r.request_id)) for r in c}) <= TRANSACTION_LIMIT for c in chunks)


def test_a_request_id_twice_in_one_batch_is_stored_once_and_each_copy_answered_with_its_own_scores(local) -> None:
    (good,) = real_records("gpt4_1106_preview", 1)
    (weak,) = real_records("alpaca-7b", 1)  # same prompt, another generator's output
    weak["request_id"] = good["request_id"]
    with open(data_dir() / "alpaca_eval" / "alpaca-7b.jsonl") as lines:
        good["reference"] = weak["reference"] = json.loads(next(lines))["reference"]  # scores now differ

    body = local.api("POST", "/v1/interactions", {"interactions": [good, weak]}).json()

    first, second = body["results"]
    assert (first["status"], second["status"]) == ("accepted", "duplicate")
    table = interactions_table(local)
    stored = table.get_item(Key={"request_id": good["request_id"]})["Item"]
    assert float(stored["quality"]) == pytest.approx(first["quality"])  # the answer matches what was stored
    assert second["quality"] != first["quality"]
    assert stored_counts(local) == (1, 1, 1)
