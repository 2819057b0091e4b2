"""Right to erasure on the local stack with real interactions (GSM8K, AlpacaEval) of three users:
one user is erased from raw S3 objects, interaction items, feedback, reservoir samples, drift
report examples, the golden set (old versions too) and every later training set; the others'
data stays as it was; a retried old batch cannot bring anything back; repeating is harmless."""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from driftgate.cli import app
from driftgate.local import local_stack
from driftgate.local.deployment import REGION, LocalDeployment
from driftgate.local.template import synthesize
from driftgate.testing.realdata import alpaca_records, gsm8k_records
from functions.common.contract import BASELINE_EMBEDDINGS_PREFIX, DRIFT_FIELDS, baseline_embeddings_key
from functions.drift.clusters import _clip
from functions.interactions.sample import stored_sample
from functions.interactions.shards import sample_index

MODEL = "support-bot"
USERS = ("alice", "bob", "carol")
ERASED = "alice"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    # Two records are enough for a dataset, so PrepareDataset builds one from this small sample.
    return synthesize({"driftgate:min_training_records": 2})


@pytest.fixture
def stack(template: dict[str, Any]) -> Iterator[LocalDeployment]:
    with local_stack(template) as deployment:
        yield deployment


def batches() -> tuple[list[dict], list[dict]]:
    """A mixed batch over two days (two raw objects, each with all three users) and a batch of
    the erased user alone (a raw object that erasure empties)."""
    mixed = gsm8k_records(18) + alpaca_records("gpt4_1106_preview", 12)
    for i, record in enumerate(mixed):
        record["metadata"] = {**record.get("metadata", {}), "user_id": USERS[i % 3]}
    alone = gsm8k_records(3, start=18)
    for record in alone:
        record["metadata"] = {"user_id": ERASED, "plan": "free"}
    return mixed, alone


class Stores:
    """Direct views of the stack's S3 buckets and DynamoDB tables (moto)."""

    def __init__(self, stack: LocalDeployment) -> None:
        self.stack = stack
        self.s3 = boto3.client("s3", region_name=REGION)
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        self.raw_bucket = stack.find("AWS::S3::Bucket", "StorageRawInteractions")
        self.artifacts = stack.find("AWS::S3::Bucket", "StorageArtifacts")
        self.interactions = dynamodb.Table(stack.find("AWS::DynamoDB::Table", "StorageInteractions"))
        self.state = dynamodb.Table(stack.find("AWS::DynamoDB::Table", "StorageState"))

    def raw_objects(self) -> dict[str, list[dict]]:
        listed = self.s3.list_objects_v2(Bucket=self.raw_bucket, Prefix="raw/").get("Contents", [])
        return {o["Key"]: [json.loads(line) for line in self.read(self.raw_bucket, o["Key"]).splitlines()]
                for o in listed}

    def read(self, bucket: str, key: str) -> str:
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()

    def pseudonym(self, user_id: str) -> str:
        """The stored form of a user id: its HMAC under the stack's key (read as the operator)."""
        secret = self.stack.find("AWS::SecretsManager::Secret", "UserIdKey")
        key = boto3.client("secretsmanager", region_name=REGION).get_secret_value(SecretId=secret)["SecretString"]
        return "hmac-sha256:" + hmac.new(key.encode(), user_id.encode(), hashlib.sha256).hexdigest()

    def item(self, request_id: str) -> dict | None:
        return self.interactions.get_item(Key={"request_id": request_id}, ConsistentRead=True).get("Item")

    def state_items(self, prefix: str) -> list[dict]:
        return [i for i in self.state.scan()["Items"] if i["sk"].startswith(prefix)]

    def sampled_ids(self, windows: set[str]) -> dict[str, set[str]]:
        """The ids of each window's sample (the sample index, shards merged, as the drift check
        reads it) and of the frozen baseline's snapshot."""
        with self.stack.environment("DriftCheck"):
            sampled = {w: set(sample_index().window_sample(MODEL, w).request_ids()) for w in sorted(windows)}
        (baseline,) = self.state_items("BASELINE_RESERVOIR")
        return {**sampled, "BASELINE_RESERVOIR": set(stored_sample(baseline).request_ids())}

    def dataset_ids(self, stack: LocalDeployment, run_id: str) -> set[str]:
        result = stack.invoke("PrepareDataset", {"model": MODEL, "run_id": run_id})
        assert result["enough"] is True, result
        ids: set[str] = set()
        for split in ("train", "eval"):
            body = self.read(self.artifacts, f"datasets/{MODEL}/{run_id}/{split}/{split}.jsonl")
            ids |= {json.loads(line)["id"] for line in body.splitlines()}
        return ids


def post_ok(stack: LocalDeployment, path: str, body: dict) -> dict:
    response = stack.api("POST", path, body)
    assert response.status == 200, response.body
    return response.json()


def test_erasure_removes_one_user_everywhere_and_keeps_the_others(stack: LocalDeployment) -> None:
    mixed, alone = batches()
    ids = {user: {r["request_id"] for r in mixed + alone if r["metadata"]["user_id"] == user} for user in USERS}
    texts = {r["prompt"] for r in mixed + alone if r["metadata"]["user_id"] == ERASED} | {
        r["output"] for r in mixed + alone if r["metadata"]["user_id"] == ERASED}
    stores = Stores(stack)
    assert post_ok(stack, "/v1/interactions", {"interactions": mixed})["accepted"] == 30
    assert post_ok(stack, "/v1/interactions", {"interactions": alone})["accepted"] == 3
    alice_first, bob_first, carol_first = (r["request_id"] for r in mixed[:3])
    post_ok(stack, "/v1/feedback", {"request_id": alice_first, "rating": -1, "comment": "wrong, see correction",
                                    "correction": "My own corrected answer."})
    post_ok(stack, "/v1/feedback", {"request_id": bob_first, "rating": -1, "correction": "Bob's better answer."})
    post_ok(stack, "/v1/feedback", {"request_id": carol_first, "rating": 1})
    post_ok(stack, f"/v1/models/{MODEL}/baseline", {})  # freezes the latest window's sample with it
    # A stored drift report whose cluster examples show one text of alice and one of bob.
    alice_prompt, bob_prompt = mixed[0]["prompt"], mixed[1]["prompt"]
    stores.state.put_item(Item={"pk": f"MODEL#{MODEL}", "sk": "DRIFT#2026-11-21T00:00:00+00:00#prompt",
                                "field": "prompt", "window": "2026-11-21T00:00:00+00:00", "checked_at": "now",
                                "report": {"drift": True, "clusters": [{"cluster": 0, "examples": [
                                    _clip(alice_prompt), _clip(bob_prompt)], "examples_from": "current"}]}})
    dataset_before = stores.dataset_ids(stack, "before")  # also freezes the golden set
    golden_key = f"golden/{MODEL}/golden.jsonl"
    golden_before = [json.loads(line)["id"] for line in stores.read(stores.artifacts, golden_key).splitlines()]
    raw_before = stores.raw_objects()
    windows = {i["window"] for i in stores.interactions.scan()["Items"]}
    sampled_before = stores.sampled_ids(windows)
    quality_before = stack.api("GET", f"/v1/models/{MODEL}/quality").json()
    # The data really covers every place erasure must reach.
    assert len(raw_before) == 3 and ids[ERASED] & set(golden_before) and ids[ERASED] & dataset_before
    assert all(ids[ERASED] & sampled for sampled in sampled_before.values()) and len(sampled_before) > 2

    # The baseline embeddings the drift check stores (vectors of the baseline sample's texts).
    vector_keys = [baseline_embeddings_key(MODEL, field) for field in DRIFT_FIELDS]
    for key in vector_keys:
        stores.s3.put_object(Bucket=stores.raw_bucket, Key=key, Body=b"vectors of the baseline texts")

    receipt = post_ok(stack, "/v1/erasures", {"user_id": ERASED})

    listed = stores.s3.list_objects_v2(Bucket=stores.raw_bucket, Prefix=BASELINE_EMBEDDINGS_PREFIX)
    assert receipt["baseline_vectors_cleared"] == 1 and "Contents" not in listed, listed.get("Contents")
    n_erased = len(ids[ERASED])
    assert n_erased == 13
    assert receipt["user_id"] == ERASED and receipt["interactions_erased"] == n_erased
    assert receipt["feedback_erased"] == 1
    assert receipt["raw_lines_removed"] == n_erased
    assert (receipt["raw_objects_rewritten"], receipt["raw_objects_deleted"]) == (2, 1)
    assert receipt["reservoir_samples_removed"] == sum(len(s & ids[ERASED]) for s in sampled_before.values())
    assert receipt["drift_examples_removed"] == 1
    assert receipt["golden_rows_removed"] == len(ids[ERASED] & set(golden_before))
    assert receipt["old_versions_deleted"] == 1

    # Raw S3: none of the user's ids or texts; every other line exactly as it was, in its object.
    raw_after = stores.raw_objects()
    assert set(raw_after) < set(raw_before)
    for key, lines in raw_after.items():
        assert not {line["request_id"] for line in lines} & ids[ERASED]
        assert not {line["prompt"] for line in lines} & texts and not {line["output"] for line in lines} & texts
        assert f'"user_id": "{stores.pseudonym(ERASED)}"' not in stores.read(stores.raw_bucket, key)
        assert lines == [line for line in raw_before[key] if line["request_id"] not in ids[ERASED]]
    # DynamoDB: tombstones without text, user id or feedback; the others' items untouched.
    for request_id in ids[ERASED]:
        assert set(stores.item(request_id)) == {"request_id", "erased_at"}
    bob_item = stores.item(bob_first)
    assert bob_item["user_id"] == stores.pseudonym("bob")
    assert bob_item["feedback"]["correction"] == "Bob's better answer."
    assert stack.api("POST", "/v1/feedback", {"request_id": alice_first, "rating": 1}).status == 404
    # Samples (each window's, as the drift check reads them, and the frozen baseline's) lose exactly
    # the user's records: the windows hold fewer records than a sample keeps, so nothing replaces them.
    assert stores.sampled_ids(windows) == {key: s - ids[ERASED] for key, s in sampled_before.items()}
    # Drift report examples: the user's gone, bob's kept.
    (report,) = stores.state_items("DRIFT#")
    assert report["report"]["clusters"][0]["examples"] == [_clip(bob_prompt)]
    # Golden set: without the user's rows, and no older version of it left (the bucket is versioned).
    golden_after = [json.loads(line)["id"] for line in stores.read(stores.artifacts, golden_key).splitlines()]
    assert golden_after == [i for i in golden_before if i not in ids[ERASED]]
    versions = stores.s3.list_object_versions(Bucket=stores.artifacts, Prefix=golden_key)
    assert len(versions["Versions"]) == 1 and not versions.get("DeleteMarkers")
    # Window aggregates are counts, not personal data: unchanged.
    assert stack.api("GET", f"/v1/models/{MODEL}/quality").json() == quality_before

    # Re-sending the old batches: every record a duplicate, nothing written back.
    for batch in (mixed, alone):
        retry = post_ok(stack, "/v1/interactions", {"interactions": batch})
        assert retry["accepted"] == 0 and retry["duplicates"] == len(batch)
    assert stores.raw_objects() == raw_after
    assert all(set(stores.item(request_id)) == {"request_id", "erased_at"} for request_id in ids[ERASED])
    # Why: ingest looks items up before it writes S3, and a tombstone counts as stored (so the
    # retry writes no raw line at all, rather than writing and taking it out again).
    with stack.environment("ApiHandler"):
        from functions.interactions.store import interaction_store

        stored = interaction_store().lookup([r["request_id"] for r in mixed + alone])
    assert len(stored) == 33 and {i for i, s in stored.items() if s.erased} == ids[ERASED]

    # Later training sets: without the user, with everything else they had before.
    dataset_after = stores.dataset_ids(stack, "after")
    assert not dataset_after & ids[ERASED]
    assert dataset_after == dataset_before - ids[ERASED]
    assert dataset_after & ids["bob"] and dataset_after & ids["carol"]

    # Erasing again finds nothing: a receipt of zeros, no error.
    again = post_ok(stack, "/v1/erasures", {"user_id": ERASED})
    assert {k: v for k, v in again.items() if k not in ("user_id", "erased_at")} == dict.fromkeys(
        [k for k in receipt if k not in ("user_id", "erased_at")], 0)


def test_a_retry_after_a_partial_write_merges_into_one_copy_that_erasure_reaches(stack: LocalDeployment) -> None:
    """The first attempt wrote the raw object and its first DynamoDB transaction, then died: the
    retry must not leave a second copy of the rest in another object (erasure would miss it)."""
    from functions.api.models import IngestRequest
    from functions.interactions.ingest import score_batch
    from functions.interactions.store import interaction_store

    records = alpaca_records("Mixtral-8x7B-Instruct-v0.1", 8)
    for i, record in enumerate(records):
        record["metadata"] = {"user_id": USERS[i % 2]}
    with stack.environment("ApiHandler"):
        candidates, _reports = score_batch(IngestRequest.model_validate({"interactions": records}))
        store = interaction_store()
        keys = store.write_raw(candidates, {})
        assert store.insert(candidates[:4], keys) == {c.request_id for c in candidates[:4]}
    stores = Stores(stack)

    retry = post_ok(stack, "/v1/interactions", {"interactions": records})
    assert (retry["accepted"], retry["duplicates"]) == (4, 4)
    (key, lines), = stores.raw_objects().items()
    assert sorted(line["request_id"] for line in lines) == sorted(r["request_id"] for r in records)
    assert {stores.item(r["request_id"])["raw_key"] for r in records} == {key}

    receipt = post_ok(stack, "/v1/erasures", {"user_id": ERASED})
    assert receipt["interactions_erased"] == receipt["raw_lines_removed"] == 4
    (lines,) = stores.raw_objects().values()
    assert {line["metadata"]["user_id"] for line in lines} == {stores.pseudonym("bob")} and len(lines) == 4


def test_a_record_another_writer_stored_first_keeps_one_raw_copy(stack: LocalDeployment) -> None:
    """Two batches sharing a record race: the loser takes its copy out of its own raw object."""
    from functions.api.models import IngestRequest
    from functions.interactions.ingest import score_batch
    from functions.interactions.store import interaction_store

    shared, first_only, second_only = gsm8k_records(3, start=40)
    with stack.environment("ApiHandler"):
        store = interaction_store()
        first, _ = score_batch(IngestRequest.model_validate({"interactions": [shared, first_only]}))
        second, _ = score_batch(IngestRequest.model_validate({"interactions": [shared, second_only]}))
        first_keys, second_keys = store.write_raw(first, {}), store.write_raw(second, {})  # both saw it fresh
        store.insert(first, first_keys)
        assert store.insert(second, second_keys) == {second_only["request_id"]}
        store.settle_raw(second_keys, [shared["request_id"]])
    objects = Stores(stack).raw_objects()
    holders = [key for key, lines in objects.items() if shared["request_id"] in {x["request_id"] for x in lines}]
    assert holders == [first_keys[shared["request_id"]]]
    assert [x["request_id"] for x in objects[second_keys[second_only["request_id"]]]] == [second_only["request_id"]]


@pytest.mark.parametrize("body", [{"user_id": ""}, {"user_id": "   "}, {"user_id": 42}, {}, {"user_id": "x" * 257}])
def test_a_bad_user_id_is_refused_naming_the_field(local: LocalDeployment, body: dict) -> None:
    response = local.api("POST", "/v1/erasures", body)
    assert response.status == 422 and "user_id" in response.json()["message"], response.body


def test_ingest_refuses_a_user_id_that_cannot_be_indexed(local: LocalDeployment) -> None:
    (record,) = gsm8k_records(1)
    for bad in ("", True, 1.5, "x" * 257):
        response = local.api("POST", "/v1/interactions", {"interactions": [{**record, "metadata": {"user_id": bad}}]})
        assert response.status == 422 and "metadata.user_id" in response.json()["message"], (bad, response.body)
    numeric = post_ok(local, "/v1/interactions", {"interactions": [{**record, "metadata": {"user_id": 7}}]})
    assert numeric["accepted"] == 1
    assert post_ok(local, "/v1/erasures", {"user_id": "7"})["interactions_erased"] == 1


def test_cli_erases_through_the_served_api(local: LocalDeployment, base_url: str) -> None:
    records = alpaca_records("alpaca-7b", 3)
    for record in records:
        record["metadata"] = {"user_id": "dave"}
    assert post_ok(local, "/v1/interactions", {"interactions": records})["accepted"] == 3
    runner = CliRunner()
    erased = runner.invoke(app, ["erase", "--user-id", "dave", "--url", base_url])
    assert erased.exit_code == 0 and "erased user 'dave'" in erased.output and "3 interactions" in erased.output
    again = runner.invoke(app, ["erase", "--user-id", "dave", "--url", base_url])
    assert again.exit_code == 0 and "0 interactions" in again.output
    bad = runner.invoke(app, ["erase", "--user-id", "", "--url", base_url])
    assert bad.exit_code == 1 and "422" in bad.output and "user_id" in bad.output
    down = runner.invoke(app, ["erase", "--user-id", "dave", "--url", "http://127.0.0.1:9"])
    assert down.exit_code == 2 and "driftgate serve" in down.output


def test_a_tombstoned_record_left_in_raw_storage_never_reaches_a_dataset(stack: LocalDeployment) -> None:
    """An erasure that stopped after its tombstones but before a raw rewrite (or a raw line the
    by-user index had not caught up with): PrepareDataset still leaves the record out."""
    mixed, _ = batches()
    post_ok(stack, "/v1/interactions", {"interactions": mixed})
    stores = Stores(stack)
    victim = mixed[0]["request_id"]
    with stack.environment("ApiHandler"):
        from functions.interactions.erasure import erasure_store

        user = stores.pseudonym(mixed[0]["metadata"]["user_id"])
        assert erasure_store().tombstone(victim, user, "2026-11-26T00:00:00Z")[0]
    assert any(victim in {line["request_id"] for line in lines} for lines in stores.raw_objects().values())

    ids = stores.dataset_ids(stack, "after-partial-erasure")

    assert victim not in ids and len(ids) > 0
