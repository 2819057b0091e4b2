"""Data minimisation on the local stack, with real interactions (AlpacaEval, GSM8K):

- the end-user id is stored only as its HMAC under the stack's Secrets Manager key: not in the
  tables, not in the raw objects, not in the handlers' output; erasure by the raw id still finds
  the records, those stored before ids were hashed too; only the API function may read the key;
- raw texts that expired (the ``raw/`` lifecycle rule of ``raw_text_retention_days``) are skipped
  and counted by the drift check and PrepareDataset, and the frozen baseline keeps its own copy.
"""
from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from driftgate.local import local_stack
from driftgate.local.deployment import REGION, LocalDeployment
from driftgate.testing.realdata import alpaca_records, gsm8k_records, ingest
from functions.common.contract import baseline_records_key
from functions.pipeline.artifacts import ArtifactStore, artifact_store
from tests.reliability.test_erasure import Stores, post_ok

MODEL = "support-bot"
# Ids as apps send them: an e-mail address and a number (guessable: why the hash is keyed).
EMAIL, NUMBER = "dana.lopez@example.org", 904512


def with_users(records: list[dict], users: list[Any]) -> list[dict]:
    return [{**r, "metadata": {"user_id": users[i % len(users)], "plan": "pro"}} for i, r in enumerate(records)]


def everything_stored(stores: Stores) -> str:
    """Every item of both tables and every object of both buckets, as one text."""
    items = stores.interactions.scan()["Items"] + stores.state.scan()["Items"]
    bodies = [stores.read(bucket, o["Key"]) for bucket in (stores.raw_bucket, stores.artifacts)
              for o in stores.s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return json.dumps(items, default=str) + "\n".join(bodies)


def raw_lines(stores: Stores) -> list[dict]:
    return [line for lines in stores.raw_objects().values() for line in lines]


def test_only_the_keyed_hash_of_the_user_id_is_stored_and_erasure_finds_it(local: LocalDeployment, capfd) -> None:
    records = with_users(alpaca_records("gpt4_1106_preview", 6), [EMAIL, NUMBER])
    stores = Stores(local)
    assert post_ok(local, "/v1/interactions", {"interactions": records})["accepted"] == 6
    hashed = {EMAIL: stores.pseudonym(EMAIL), NUMBER: stores.pseudonym(str(NUMBER))}

    stored = everything_stored(stores)
    assert EMAIL not in stored and str(NUMBER) not in stored
    for record in records:
        item = stores.item(record["request_id"])
        expected = hashed[record["metadata"]["user_id"]]
        assert item["user_id"] == item["metadata"]["user_id"] == expected and item["metadata"]["plan"] == "pro"
    assert sorted(line["metadata"]["user_id"] for line in raw_lines(stores)) == sorted(
        hashed[r["metadata"]["user_id"]] for r in records)

    receipt = post_ok(local, "/v1/erasures", {"user_id": EMAIL})
    assert receipt["user_id"] == EMAIL and receipt["interactions_erased"] == receipt["raw_lines_removed"] == 3
    assert post_ok(local, "/v1/erasures", {"user_id": str(NUMBER)})["interactions_erased"] == 3
    assert raw_lines(stores) == []
    # Nor in what the handlers printed (their logs): the erasure's receipt goes to the caller only.
    printed = "".join(capfd.readouterr())
    assert EMAIL not in printed and str(NUMBER) not in printed


def test_erasure_still_finds_records_stored_with_the_raw_id(local: LocalDeployment) -> None:
    """Records ingested before ids were hashed carry the raw id in the item, its index key and the
    raw line: erasure looks that form up too, beside the hash of the records stored since."""
    old, new = with_users(gsm8k_records(4), [EMAIL]), with_users(gsm8k_records(2, start=4), [EMAIL])
    others = with_users(gsm8k_records(2, start=6), ["someone-else"])
    stores = Stores(local)
    assert post_ok(local, "/v1/interactions", {"interactions": old + others})["accepted"] == 6
    # Back to what the code before hashing stored for the old records.
    old_ids = {r["request_id"] for r in old}
    for request_id in old_ids:
        stores.interactions.update_item(
            Key={"request_id": request_id}, UpdateExpression="SET user_id = :u, metadata.user_id = :u",
            ExpressionAttributeValues={":u": EMAIL})
    for key, lines in stores.raw_objects().items():
        rewritten = [{**line, "metadata": {**line["metadata"], "user_id": EMAIL}} if line["request_id"] in old_ids
                     else line for line in lines]
        stores.s3.put_object(Bucket=stores.raw_bucket, Key=key,
                             Body="".join(json.dumps(line) + "\n" for line in rewritten).encode())
    assert post_ok(local, "/v1/interactions", {"interactions": new})["accepted"] == 2
    assert EMAIL in everything_stored(stores)

    receipt = post_ok(local, "/v1/erasures", {"user_id": EMAIL})

    assert receipt["interactions_erased"] == receipt["raw_lines_removed"] == 6
    assert EMAIL not in everything_stored(stores)
    assert all(set(stores.item(r["request_id"])) == {"request_id", "erased_at"} for r in old + new)
    assert {line["request_id"] for line in raw_lines(stores)} == {r["request_id"] for r in others}


def test_only_the_api_function_may_read_the_user_id_key(local: LocalDeployment) -> None:
    secret = local.find("AWS::SecretsManager::Secret", "UserIdKey")
    secrets = boto3.client("secretsmanager", region_name=REGION)
    readers, refused = [], []
    functions = local.resources_of_type("AWS::Lambda::Function")
    roles = {lid: local.dispatcher.lookup(name).role_arn for lid, name in functions.items()}
    roles["StateMachine"] = local.identities.state_machine_role or ""
    for name, role in sorted(roles.items()):
        with local.identities.acting_as(local.identities.role(role)):
            try:
                secrets.get_secret_value(SecretId=secret)
                readers.append(name)
            except ClientError as error:
                # moto answers this service's denial as a bare 403 with IAM's message.
                assert "not authorized to perform: secretsmanager:GetSecretValue" in str(error), error
                refused.append(name)
    assert readers == [local.function("ApiHandler").logical_id] and len(refused) == len(roles) - 1 >= 10
    # And only its environment names the secret.
    assert [lid for lid, name in functions.items()
            if "USER_ID_KEY_SECRET" in local.dispatcher.lookup(name).environment] == readers


@pytest.fixture
def checked_stack():
    """Baseline and current windows of 12 real GSM8K interactions each (the drift test needs 10)."""
    context = {"driftgate:min_window_samples": 10, "driftgate:min_training_records": 100000,
               "driftgate:monitored_models": [MODEL]}
    with local_stack(context=context) as stack:
        assert ingest(stack, with_users(gsm8k_records(12, day="2026-11-20"), ["erin", "frank", "gus"])) == 12
        assert stack.api("POST", f"/v1/models/{MODEL}/baseline").status == 200
        assert ingest(stack, gsm8k_records(12, start=12, day="2026-11-21")) == 12
        yield stack


def expire_raw_texts(stores: Stores) -> int:
    """What the raw/ lifecycle rule does once raw_text_retention_days have passed: deletes the objects."""
    keys = list(stores.raw_objects())
    for key in keys:
        stores.s3.delete_object(Bucket=stores.raw_bucket, Key=key)
    return len(keys)


def test_the_drift_check_skips_expired_texts_and_keeps_the_baselines_copy(checked_stack) -> None:
    stack, stores = checked_stack, Stores(checked_stack)
    (first,) = stack.fire_schedule()[0]["checks"]
    assert first["texts_expired"] == {"baseline": 0, "current": 0}
    assert all(r["error"] is None for r in first["drift"].values()), first["drift"]
    copy = [json.loads(line) for line in stores.read(stores.raw_bucket, baseline_records_key(MODEL)).splitlines()]
    assert len(copy) == 12 and {r["request_id"] for r in copy} == {r["request_id"] for r in gsm8k_records(12)}

    assert expire_raw_texts(stores) >= 2  # one object per (model, day) of each ingested batch
    (expired,) = stack.fire_schedule()[0]["checks"]
    # The current window's texts are gone: skipped and counted, the check reports instead of failing.
    assert expired["texts_expired"] == {"baseline": 0, "current": 12}
    assert all("current window has 0 records" in r["error"] for r in expired["drift"].values()), expired["drift"]
    assert expired["status"] in ("healthy", "breach-suppressed", "breach-started")

    # A new window is compared against the baseline's copy: its own raw objects are long gone.
    assert ingest(stack, gsm8k_records(12, start=24, day="2026-11-22")) == 12
    (fresh,) = stack.fire_schedule()[0]["checks"]
    assert fresh["texts_expired"] == {"baseline": 0, "current": 0}
    assert all(r["error"] is None and r["n_baseline"] == 12 for r in fresh["drift"].values()), fresh["drift"]

    # Erasure reaches the copy too: the user's lines leave it, the others' stay.
    erin = {r["request_id"] for r in with_users(gsm8k_records(12), ["erin", "frank", "gus"])
            if r["metadata"]["user_id"] == "erin"}
    assert post_ok(stack, "/v1/erasures", {"user_id": "erin"})["baseline_texts_removed"] == len(erin) == 4
    kept = [json.loads(line) for line in stores.read(stores.raw_bucket, baseline_records_key(MODEL)).splitlines()]
    assert {r["request_id"] for r in kept} == {r["request_id"] for r in copy} - erin


class ExpiresOnRead:
    """The raw bucket's S3 client, where one listed object expires just before it is read (the
    lifecycle rule deleting it between PrepareDataset's listing and its GET)."""

    def __init__(self, s3: Any, key: str) -> None:
        self.s3, self.key = s3, key

    def get_paginator(self, name: str) -> Any:
        return self.s3.get_paginator(name)

    def get_object(self, **kwargs: Any) -> Any:
        if kwargs["Key"] == self.key:
            self.s3.delete_object(Bucket=kwargs["Bucket"], Key=self.key)
        return self.s3.get_object(**kwargs)


def test_prepare_dataset_skips_expired_raw_objects_and_counts_them(local: LocalDeployment) -> None:
    stores = Stores(local)
    assert ingest(local, gsm8k_records(5, day="2026-11-20")) == 5
    assert ingest(local, gsm8k_records(7, start=5, day="2026-11-21")) == 7
    first_day = next(key for key in stores.raw_objects() if "date=2026-11-20" in key)
    with local.environment("PrepareDataset"):
        store = artifact_store()
        racing = ArtifactStore(ExpiresOnRead(store.s3, first_day), store.raw_bucket, store.artifacts_bucket)
        expired: list[str] = []
        read = list(racing.raw_records(MODEL, expired=expired))
    assert expired == [first_day] and len(read) == 7

    # Expired before the listing: not listed at all; the task answers on what is left.
    result = local.invoke("PrepareDataset", {"model": MODEL, "run_id": "expired"})
    assert (result["enough"], result["available_records"], result["expired_objects"]) == (False, 7, 0), result
