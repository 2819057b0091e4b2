"""GET /v1/interactions/{request_id}/explanation and ``driftgate explain`` on the local stack with
real interactions (GSM8K with its answer key, AlpacaEval with and without its reference): the
breakdown recomposes the stored quality with the pack's formula, the sample membership is the
bottom-k the drift check reads, the training sets are the rows PrepareDataset really wrote, and
an unknown or erased interaction is a 404. (A run that trains and registers versions:
tests/pipeline/test_retrain.py.)"""
from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from typer.testing import CliRunner

from driftgate.cli import app
from driftgate.local import local_stack
from driftgate.local.deployment import REGION, LocalDeployment
from driftgate.paths import data_dir
from driftgate.testing.realdata import alpaca_records, gsm8k_records, ingest, load_jsonl
from functions.interactions.sample import rank_of
from tests.conftest import serving

MODEL = "explained-bot"
RUN = "explain-run-1"
FLAGGED = "alpaca-7b:057"


def with_env(template: dict[str, Any], function_prefix: str, **env: str) -> dict[str, Any]:
    """The template with ``env`` set in one function's environment (no second synth)."""
    changed = copy.deepcopy(template)
    (function,) = [r for lid, r in changed["Resources"].items()
                   if r["Type"] == "AWS::Lambda::Function" and lid.startswith(function_prefix)]
    function["Properties"]["Environment"]["Variables"].update(env)
    return changed


def records() -> list[dict]:
    """Three kinds of real record, one window: an answer key (GSM8K), a free-form reference
    (AlpacaEval's own) and none (AlpacaEval alone); two of them name an end user."""
    gsm8k = gsm8k_records(12, model=MODEL, day="2026-11-20")
    with_reference = alpaca_records("alpaca-7b", 12, model=MODEL, day="2026-11-20")
    references = load_jsonl(data_dir() / "alpaca_eval" / "alpaca-7b.jsonl")
    for record, row in zip(with_reference, references, strict=False):
        record["reference"] = row["reference"]
        record["request_id"] += ":ref"
    # The slice's one output the scorer flags (off_topic), with and without its reference.
    flagged = alpaca_records("alpaca-7b", 1, start=57, model=MODEL, day="2026-11-20")
    with_reference += [{**flagged[0], "reference": references[57]["reference"], "request_id": FLAGGED + ":ref"}]
    alone = flagged + alpaca_records("Mixtral-8x7B-Instruct-v0.1", 11, model=MODEL, day="2026-11-20")
    alone[1]["metadata"]["user_id"] = "dora"
    gsm8k[0]["metadata"] = {"user_id": "dora"}
    return gsm8k + with_reference + alone


@pytest.fixture(scope="module")
def stack(synthesized_template) -> Iterator[LocalDeployment]:
    # Two records are enough for a dataset: PrepareDataset builds one from this small window.
    template = with_env(synthesized_template, "PrepareDataset", MIN_TRAINING_RECORDS="2")
    with local_stack(template) as deployment:
        yield deployment


@pytest.fixture(scope="module")
def stored(stack) -> dict[str, dict]:
    """The records, ingested, the window frozen as baseline, and one dataset built by PrepareDataset."""
    batch = records()
    assert ingest(stack, batch) == len(batch)
    assert stack.api("POST", f"/v1/models/{MODEL}/baseline").status == 200
    ready = stack.invoke("PrepareDataset", {"model": MODEL, "run_id": RUN})
    assert ready["enough"] is True, ready
    return {r["request_id"]: r for r in batch}


def explain(stack, request_id: str):
    return stack.api("GET", f"/v1/interactions/{quote(request_id, safe='')}/explanation")


def dataset_ids(stack, split: str, run_id: str = RUN) -> set[str]:
    bucket = stack.find("AWS::S3::Bucket", "StorageArtifacts")
    body = boto3.client("s3", region_name=REGION).get_object(
        Bucket=bucket, Key=f"datasets/{MODEL}/{run_id}/{split}/{split}.jsonl")["Body"].read().decode()
    return {json.loads(line)["id"] for line in body.splitlines() if line}


def recomposed(breakdown: dict) -> float:
    """The pack's formula: clip(sum of weight x value x product of the applied factors, 0, 1)."""
    base = sum(t["weight"] * t["value"] for t in breakdown["terms"])
    factor = math.prod(p["factor"] for p in breakdown["penalties"] if p["applied"])
    return min(1.0, max(0.0, base * factor))


def test_each_kind_of_record_explains_its_stored_quality_term_by_term(stack, stored) -> None:
    """One record per formula, and the slice's one flagged output: with no reference its flag's
    factor applies, with its reference the flag is exempt (overlap measures topicality there)."""
    picked = {"gsm8k-test:0000": "answer", "alpaca-7b:000:ref": "free_form", FLAGGED: "heuristic",
              FLAGGED + ":ref": "free_form"}
    bodies = {}
    for request_id, formula in picked.items():
        response = explain(stack, request_id)
        assert response.status == 200, response.body
        body = bodies[request_id] = response.json()
        quality = body["quality"]
        breakdown = quality["breakdown"]
        assert quality["recomputed"] and quality["matches_stored"], quality
        assert breakdown["formula"] == formula
        assert recomposed(breakdown) == pytest.approx(quality["quality"], abs=1e-12)
        assert breakdown["base"] == pytest.approx(sum(t["weight"] * t["value"] for t in breakdown["terms"]))
        assert [p["flag"] for p in breakdown["penalties"]] == quality["flags"]
        if formula != "heuristic":
            assert [t["name"] for t in breakdown["terms"]] == ["exact_match", "token_f1", "rouge_l"]
            assert sum(t["weight"] for t in breakdown["terms"]) == pytest.approx(1.0)
            assert breakdown["terms"][1]["value"] == quality["metrics"]["token_f1"]
        assert f"Quality {quality['quality']:.3f}" in body["summary"] and "base = " in body["summary"]
    assert bodies["gsm8k-test:0000"]["quality"]["breakdown"]["terms"][0]["weight"] == 0.7  # the answer decides

    (applied,) = bodies[FLAGGED]["quality"]["breakdown"]["penalties"]
    assert applied == {"flag": "off_topic", "factor": 0.6, "applied": True, "reason": None}
    assert "flag off_topic multiplies it by 0.6" in bodies[FLAGGED]["summary"]
    (exempt,) = bodies[FLAGGED + ":ref"]["quality"]["breakdown"]["penalties"]
    assert exempt["flag"] == "off_topic" and not exempt["applied"] and "reference" in exempt["reason"]
    assert "flag off_topic is not penalised" in bodies[FLAGGED + ":ref"]["summary"]


def test_sample_membership_is_the_bottom_k_of_its_window_and_the_frozen_baseline(stack, stored) -> None:
    ranks = sorted(rank_of(rid) for rid in stored)  # one window, fewer records than the sample holds
    for request_id in list(stored)[:2]:
        sampling = explain(stack, request_id).json()["sampling"]
        assert sampling["window"] == "2026-11-20T00:00:00+00:00" and sampling["window_hours"] == 24
        assert sampling["rank"] == rank_of(request_id)
        assert sampling["in_window_sample"] and sampling["sample_size"] == len(stored)
        assert sampling["sample_position"] == ranks.index(rank_of(request_id)) + 1
        assert sampling["baseline_window"] == sampling["window"] and sampling["in_baseline_sample"]
        assert 0 <= sampling["shard"] < sampling["shards"]
    later = gsm8k_records(1, start=40, model=MODEL, day="2026-11-23")
    assert ingest(stack, later) == 1
    sampling = explain(stack, later[0]["request_id"]).json()["sampling"]
    assert sampling["in_window_sample"] and sampling["sample_size"] == 1 and not sampling["in_baseline_sample"]


def test_the_training_sets_listed_are_the_rows_prepare_dataset_wrote(stack, stored) -> None:
    train, evals = dataset_ids(stack, "train"), dataset_ids(stack, "eval")
    used = {rid for rid in stored if rid in train | evals}
    assert used and len(used) < len(stored)  # the low-quality ones were left out
    for request_id in [next(r for r in stored if r in train), next(r for r in stored if r in evals),
                       next(r for r in stored if r not in used)]:
        training = explain(stack, request_id).json()["training"]
        if request_id not in used:
            assert training == []
            continue
        (use,) = training
        # The first dataset of a model also froze its golden set: its eval rows.
        expected = ["train"] if request_id in train else ["eval", "golden"]
        assert use["run_id"] == RUN and use["splits"] == expected and use["version"] is None
        assert use["manifest_uri"].endswith(f"/datasets/{MODEL}/{RUN}/manifest.json")

    # A version registered by that run is joined to it (the registry records the run's ARN).
    with stack.environment("Register"):
        from functions.registry.store import registry

        registry().register(MODEL, {"s3_uri": "s3://a/1/model.tar.gz", "sha256": "0" * 64, "base_model": None,
                                    "gate": {"decision": "promote"}, "approval": "not-applicable",
                                    "execution_arn": f"arn:aws:states:{REGION}:000000000000:execution:Retrain:{RUN}"})
    body = explain(stack, next(r for r in stored if r in train)).json()
    assert body["training"][0]["version"] == 1 and body["training"][0]["gate_decision"] == "promote"
    assert f"run {RUN} (train) → adapter version 1 (gate: promote)" in body["summary"]


def test_unknown_and_erased_interactions_are_404(stack, stored) -> None:
    unknown = explain(stack, "no-such-request")
    assert unknown.status == 404 and "no-such-request" in unknown.json()["message"]
    doras = [rid for rid, r in stored.items() if (r.get("metadata") or {}).get("user_id") == "dora"]
    before = [explain(stack, rid) for rid in doras]
    assert len(doras) == 2 and all(r.status == 200 for r in before)
    marked = [r for r in before if r.json()["training"]]
    assert stack.api("POST", "/v1/erasures", {"user_id": "dora"}).json()["interactions_erased"] == 2
    table = boto3.resource("dynamodb", region_name=REGION).Table(stack.find("AWS::DynamoDB::Table",
                                                                            "StorageInteractions"))
    for request_id in doras:
        response = explain(stack, request_id)
        assert response.status == 404 and request_id in response.json()["message"], response.body
        # The tombstone holds no training-set marks (nor anything else but the id and the time).
        assert set(table.get_item(Key={"request_id": request_id})["Item"]) == {"request_id", "erased_at"}
    assert marked, "neither of dora's records was in the training set: the scrub was not exercised"


@pytest.fixture(scope="module")
def served(stack) -> Iterator[str]:
    with serving(stack) as url:
        yield url


def test_the_cli_explains_in_words_and_as_json(stack, stored, served) -> None:
    request_id = next(rid for rid in stored if rid.endswith(":ref"))  # a ":" in the id travels encoded
    runner = CliRunner()
    as_json = runner.invoke(app, ["explain", request_id, "--json", "--url", served])
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.output)
    assert body["request_id"] == request_id and body["quality"]["breakdown"]["formula"] == "free_form"
    words = runner.invoke(app, ["explain", request_id, "--url", served])
    assert words.exit_code == 0 and body["summary"][:60] in " ".join(words.output.split()), words.output
    print(words.output)  # what an operator reads (pytest -s)
    missing = runner.invoke(app, ["explain", "no-such-request", "--url", served])
    assert missing.exit_code == 1 and "404" in missing.output and "no-such-request" in missing.output
