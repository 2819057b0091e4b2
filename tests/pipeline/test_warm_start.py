"""Warm start on the local stack (IAM enforced, real data): the first run has no production
adapter and trains from scratch; the next one passes the production adapter to the training job
as its ``adapter`` channel (read as the job's own role), and the job starts from exactly those
weights. Both train on the new data plus a replayed share of the frozen baseline (the one
frozen by hand, then the one Promote froze), never of an erased user's records."""
from __future__ import annotations

import io
import json
import tarfile

import boto3
import pytest

from driftgate.local import local_stack
from driftgate.local.deployment import REGION
from driftgate.local.profile import local_training_context
from driftgate.testing.realdata import alpaca_records, gsm8k_records, ingest

MODEL = "support-bot"
ERASED = "user-erased"
pytestmark = pytest.mark.slow


def _object(uri: str) -> bytes:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return boto3.client("s3", region_name=REGION).get_object(Bucket=bucket, Key=key)["Body"].read()


def _job_manifest(result) -> dict:
    archive = tarfile.open(fileobj=io.BytesIO(_object(result.output["training"]["ModelArtifacts"]["S3ModelArtifacts"])))
    member = archive.extractfile("manifest.json")
    assert member is not None
    return json.loads(member.read())


def _train_rows(result) -> list[dict]:
    return [json.loads(line) for line in _object(result.output["dataset"]["train_uri"] + "train.jsonl").splitlines()]


def _retrain(stack):
    started = stack.api("POST", f"/v1/models/{MODEL}/retrain")
    assert started.status == 200, started.body
    result = stack.wait(started.json()["execution_arn"], timeout_s=900)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    return result


def test_warm_start_trains_from_the_production_adapter_with_replay(tiny_base) -> None:
    # One day of data per run (dataset_window_days 1): the baseline's day is old data, replayed.
    context = local_training_context(tiny_base, quick=True, **{
        "driftgate:warm_start": True, "driftgate:replay_fraction": 0.2, "driftgate:dataset_window_days": 1,
        "driftgate:cooldown_hours": 0, "driftgate:rollout": "direct", "driftgate:monitored_models": [MODEL]})
    with local_stack(context=context) as stack:
        baseline = alpaca_records("gpt4_1106_preview", 60, model=MODEL, day="2026-11-20")
        assert ingest(stack, baseline) == 60
        assert stack.api("POST", f"/v1/models/{MODEL}/baseline").status == 200
        # Promoting version 1 freezes this day's window as the next baseline: the second run replays it.
        new = gsm8k_records(70, model=MODEL, day="2026-11-21")
        for record in new[:10]:
            record.setdefault("metadata", {})["user_id"] = ERASED
        assert ingest(stack, new) == 70

        first = _retrain(stack)
        assert "WarmStart?" in first.states and "Train" in first.states and "TrainWarm" not in first.states
        assert _job_manifest(first)["init"] == {"from": "scratch", "reason": "no production adapter given"}
        assert first.output["status"] == "PROMOTED", first.output.get("gate")
        replayed = [r for r in _train_rows(first) if r["origin"] == "replay"]
        counts = first.output["dataset"]["manifest"]["counts"]
        assert counts["replay"] == len(replayed) > 0
        assert counts["replay"] == int(0.2 * (counts["train"] - counts["replay"]) / 0.8 + 1e-9)
        baseline_ids = {r["request_id"] for r in baseline}
        assert {r["id"] for r in replayed} <= baseline_ids
        production = stack.api("GET", f"/v1/models/{MODEL}/adapters/production").json()

        # The erased user's records leave the (new) baseline sample: never replayed.
        assert stack.api("POST", "/v1/erasures", {"user_id": ERASED}).status == 200
        assert ingest(stack, gsm8k_records(70, start=70, model=MODEL, day="2026-11-22")) == 70
        second = _retrain(stack)
        assert "TrainWarm" in second.states and "Train" not in second.states
        job = stack.sagemaker.jobs[-2]  # TrainWarm, then its evaluation
        assert job["succeeded"] and job["name"].startswith("dg-trainwarm-")
        init = _job_manifest(second)["init"]
        assert init["from"] == "adapter" and init["sha256"] == production["sha256"]
        rows = _train_rows(second)
        replayed_ids = {r["id"] for r in rows if r["origin"] == "replay"}
        erased_ids = {r["request_id"] for r in new[:10]}
        assert replayed_ids and replayed_ids <= {r["request_id"] for r in new} - erased_ids
