"""The scheduled check through its real handlers on the local stack (the dispatcher, then the
one-model check it invokes): a quality decay with no embedding drift starts a run on the decay
trigger; a window too small to judge starts nothing; and the metrics it emits are the ones the
template's alarms watch."""
from __future__ import annotations

import json
import re
from itertools import islice

import pytest

from driftgate.local import local_stack
from driftgate.paths import data_dir
from driftgate.testing.realdata import ingest

MODEL = "support-bot"
_FINAL = re.compile(r"####\s*(-?[\d,]+)\s*$")


def gsm8k(start: int, n: int, *, day: str, wrong_final_answer: bool = False) -> list[dict]:
    """Real GSM8K questions answered with their worked solutions; with ``wrong_final_answer`` the
    reasoning stays and the final number is off by one (a model whose arithmetic slipped: its
    outputs read the same, so their embeddings barely move, but every answer is wrong)."""
    with open(data_dir() / "gsm8k" / "test.jsonl") as lines:
        rows = [json.loads(line) for line in islice(lines, start, start + n)]

    def output(reference: str) -> str:
        if not wrong_final_answer:
            return reference
        return _FINAL.sub(lambda m: f"#### {int(m.group(1).replace(',', '')) + 1}", reference)

    records = [{"request_id": row["id"], "model": MODEL, "prompt": row["prompt"], "output": output(row["reference"]),
                "reference": row["reference"], "timestamp": f"{day}T12:00:00Z"} for row in rows]
    assert not wrong_final_answer or all(r["output"] != r["reference"] for r in records)
    return records


@pytest.fixture
def stack():
    # Too few training records on purpose: a started run ends quickly on the SKIPPED branch.
    with local_stack(context={"driftgate:min_training_records": 100000,
                              "driftgate:monitored_models": [MODEL]}) as deployment:
        assert ingest(deployment, gsm8k(0, 80, day="2026-11-20")) == 80
        assert deployment.api("POST", f"/v1/models/{MODEL}/baseline").status == 200
        yield deployment


def test_decay_without_drift_starts_a_run_on_the_decay_trigger(stack, synthesized_template) -> None:
    assert ingest(stack, gsm8k(80, 80, day="2026-11-21", wrong_final_answer=True)) == 80

    (scheduled,) = stack.fire_schedule()
    (check,) = scheduled["checks"]
    assert scheduled["dispatched"] == [MODEL]

    assert check["status"] == "breach-started", check
    assert check["baseline_quality"] > 0.9 and check["delta"] > 0.5
    assert check["reasons"][0].startswith("quality decay: ΔM =")
    # Nothing moved but quality: not the prompts, not the outputs' embeddings or their shape. (The
    # output report flags its quality descriptor, the same decay seen per record, and the linear
    # discriminant, which reads the descriptors, quality among them, beside the embeddings.)
    assert check["drift"]["prompt"]["drift"] is False
    reports = stack.api("GET", f"/v1/models/{MODEL}/drift").json()["reports"]
    # Split over the prompts' topics, the decay is concept drift: the same kind of questions, answered
    # worse. The check's result and the stored prompt report (GET /drift) carry the same split.
    split = check["decay_decomposition"]
    assert split["delta"] > 0.5 and split["within_share"] > 0.95, split
    assert split["mix"] + split["within"] == pytest.approx(split["delta"])
    assert reports["prompt"]["decay_decomposition"]["within"] == pytest.approx(split["within"])
    # Beside each decision, its effect sizes: the same kind of questions, so the topic mix barely moved.
    assert reports["prompt"]["divergences"]["cluster_js"] < 0.05 and reports["output"]["divergences"]["psi"]
    assert {t["name"] for t in reports["output"]["tests"] if t["moved"]} <= {"quality", "discriminant"}
    result = stack.wait(check["execution_arn"])
    assert result.status == "SUCCEEDED" and result.output["reason"] == "quality_decay"

    # The handler's EMF carries every metric an alarm of the template watches, with its dimensions.
    emitted = [(name, {k: line[k] for k in directive["Dimensions"][0]})
               for line in stack.dispatcher.metrics for directive in line["_aws"]["CloudWatchMetrics"]
               for name in (m["Name"] for m in directive["Metrics"])]
    watched = [(p["MetricName"], {d["Name"]: d["Value"] for d in p["Dimensions"]})
               for r in synthesized_template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"
               for p in [r["Properties"]] if p.get("Namespace") == "Driftgate"]
    assert len(watched) == 3
    for metric in watched:
        assert metric in emitted, f"no {metric} from the drift check; the alarm on it would never fire"


def test_a_window_too_small_to_judge_starts_nothing(stack) -> None:
    assert ingest(stack, gsm8k(80, 20, day="2026-11-21", wrong_final_answer=True)) == 20

    (check,) = stack.fire_schedule()[0]["checks"]

    assert check["status"] == "insufficient-samples" and check["n"] == 20
    assert check["execution_arn"] is None and check["reasons"] == [] and check["drift"] == {}
    # ΔM is reported, though too few records stand behind it to act on.
    assert check["delta"] > 0.5
