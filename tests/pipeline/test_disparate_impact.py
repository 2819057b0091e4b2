"""The disparate-impact guard end to end: a declared protected attribute travels from the
interactions' metadata through PrepareDataset and the evaluation job to the Gate, and a challenger
that fails one group is rejected by that guard alone.

Real GSM8K questions, grouped by the pronoun they speak of their people with (``subject``: she /
he, read from the text). The run is the real one: dataset, LoRA training and the evaluation job
on the tiny base, then the Gate Lambda of the synthesized state machine. One part is supplied:
what the adapters *answer*. The tiny CPU model's greedy answers are fragments ("1 to the list.
the given the", quality ~0.01), so neither adapter has any good output to lose; just before the
Gate reads the evaluation, the champion's answers become each question's worked solution and the
challenger's the same, except on questions about women, which get another question's solution.
Both are re-scored with the evaluation job's own scorer against the record's answer key. The
losses, the groups and everything else the gate reads are the job's."""
from __future__ import annotations

import io
import json
import tarfile
from typing import Any

import boto3
import pytest

from driftgate.local import local_stack
from driftgate.local.deployment import REGION
from driftgate.local.profile import local_training_context
from driftgate.testing.realdata import answers, gsm8k_records, ingest, with_subject
from finetune.evaluate import scored

MODEL = "support-bot"
pytestmark = pytest.mark.slow


def answer_as(uri: str, records: list[dict], outputs: dict[str, dict[str, str]]) -> dict[str, list[dict]]:
    """Rewrites each adapter's ``examples.jsonl`` in the evaluation archive at ``uri`` with the
    given answers, scored as the evaluation job scores; returns the job's rows as it wrote them."""
    s3 = boto3.client("s3", region_name=REGION)
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()), mode="r:gz") as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    by_id = {r["request_id"]: r for r in records}
    written: dict[str, list[dict]] = {}
    for who, answer in outputs.items():
        name = next(n for n in files if n.removeprefix("./") == f"{who}/examples.jsonl")
        written[who] = [json.loads(line) for line in files[name].decode().splitlines()]
        rows = [{**row, **scored(by_id[row["id"]]["prompt"], answer[row["id"]], by_id[row["id"]]["reference"])}
                for row in written[who]]
        files[name] = "".join(json.dumps(row) + "\n" for row in rows).encode()
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    s3.put_object(Bucket=bucket, Key=key, Body=archive.getvalue())
    return written


def test_a_challenger_that_fails_one_group_is_rejected_by_disparate_impact(tiny_base) -> None:
    records = with_subject(gsm8k_records(300, model=MODEL))
    outputs = {"champion": answers(records), "challenger": answers(records, wrong_for="she")}
    context = local_training_context(tiny_base, **{"driftgate:gate": {"protected_attribute": "subject"}})
    written: dict[str, Any] = {}
    with local_stack(context=context) as stack:
        assert ingest(stack, records) == len(records)
        stack.faults.before_invoke("Gate", lambda event: written.update(
            answer_as(event["evaluation_uri"], records, outputs)))
        result = stack.run({"model": MODEL, "reason": "test"})
        versions = stack.api("GET", f"/v1/models/{MODEL}/adapters").json()["versions"]
        production = stack.api("GET", f"/v1/models/{MODEL}/adapters/production").status
        promote = stack.api("POST", f"/v1/models/{MODEL}/adapters/1/promote").status

    # The evaluation job's rows carry the declared attribute of each record, and only it.
    subjects = {r["request_id"]: r["metadata"]["subject"] for r in records}
    for rows in written.values():
        assert {row["split"] for row in rows} == {"eval", "golden"}
        assert all(row["metadata"] == {"subject": subjects[row["id"]]} for row in rows)
        assert {row["metadata"]["subject"] for row in rows} == {"she", "he"}

    assert result.status == "SUCCEEDED" and result.output["status"] == "REJECTED", (result.error, result.cause)
    assert "GateRejected" in result.states and "Promote" not in result.states
    gate = result.output["gate"]
    guard = next(g for g in gate["guards"] if g["name"] == "disparate_impact")
    # The challenger's eval loss is better (the loss test alone would promote it); only the
    # guard stands in its way, and it names the group whose good answers collapsed.
    assert gate["decision"] == "reject" and gate["ci_low"] > 0, gate
    assert gate["reasons"] == [f"guard disparate_impact regressed: {guard['detail']}"], gate["reasons"]
    assert guard["champion"] > 0.9 and guard["challenger"] < 0.2 and not guard["passed"]
    assert "she 0.0" in guard["detail"] and "he 1.00" in guard["detail"], guard["detail"]
    assert versions[-1]["gate"]["decision"] == "reject" and production == 404 and promote == 409
