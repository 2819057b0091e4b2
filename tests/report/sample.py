"""A realistic model history in a (moto) state table, for the report tests and the screenshot.

Twelve daily windows: healthy, then a quality regression with prompt and output drift, a
retrain that the gate rejects, one it promotes, and one a reviewer rejects. Items are written
by the real code paths (``StateRepository.record_run``, ``Registry``, ``DriftReport``) under a
fake clock; example texts are real AlpacaEval prompts and outputs from ``../shared/data``.

``python -m tests.report.sample OUT.json`` saves a ``collect_report_data`` snapshot of it.
"""
from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any
from unittest.mock import patch

import boto3
import numpy as np

from driftgate.paths import data_dir
from functions.common.repositories import StateRepository
from functions.drift.report import ClusterShift, DriftReport, TestResult
from functions.gate.decision import GateConfig, decide
from functions.registry.store import Registry

MODEL = "support-bot"
START = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = 12
# Mean quality per day: healthy, regression from day 6, recovery after the promotion on day 9.
QUALITY = (0.71, 0.72, 0.70, 0.73, 0.71, 0.69, 0.62, 0.56, 0.54, 0.57, 0.68, 0.70)
DRIFT_DAYS = {"prompt": {6, 7, 8, 9}, "output": {7, 8}}


def day(n: float) -> str:
    return (START + timedelta(days=n)).isoformat()


def real_rows(generator: str, n: int, start: int = 0) -> list[dict[str, Any]]:
    with open(data_dir() / "alpaca_eval" / f"{generator}.jsonl", encoding="utf-8") as lines:
        return [json.loads(line) for line in islice(lines, start, start + n)]


def create_state_table(name: str = "driftgate-state", region: str = "us-east-1") -> StateRepository:
    """The state table's key schema (pk/sk strings); call inside ``mock_aws``."""
    table = boto3.resource("dynamodb", region_name=region).create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
    )
    return StateRepository(table)


class Clock:
    """The fake ``utc_now`` of the repositories and the registry."""

    def __init__(self) -> None:
        self.now = day(0)

    def __call__(self) -> str:
        return self.now


def _window(model: str, n_day: int, rng: np.random.Generator) -> dict[str, Any]:
    n = int(rng.integers(90, 150))
    with_reference = n // 4
    rated = int(rng.integers(5, 20))
    return {"pk": f"MODEL#{model}", "sk": f"WINDOW#{day(n_day)}", "start": day(n_day), "model": model, "n": n,
            "sum_quality": round(QUALITY[n_day] * n, 4), "n_reference": with_reference,
            "sum_exact_match": int(with_reference * (QUALITY[n_day] - 0.3)), "feedback_n": rated,
            "sum_feedback": round(rated * min(QUALITY[n_day] + 0.08, 1.0), 4),
            "flag_refusal": int(n * (0.01 if QUALITY[n_day] > 0.65 else 0.06)), "flag_pii": int(n_day == 7)}


def _drift_report(field: str, n_day: int, texts: dict[str, list[str]], rng: np.random.Generator) -> DriftReport:
    drift = n_day in DRIFT_DAYS[field]
    p = float(rng.uniform(0.002, 0.02)) if drift else float(rng.uniform(0.15, 0.9))
    shares = [(0.34, 0.12), (0.28, 0.46), (0.22, 0.24), (0.16, 0.18)] if drift else [(0.34, 0.32), (0.28, 0.3),
                                                                                     (0.22, 0.21), (0.16, 0.17)]
    clusters = [ClusterShift(cluster=i, share_baseline=b, share_current=c, delta=round(c - b, 4),
                             examples=texts[field][2 * i:2 * i + 2], examples_from="current" if c > b else "baseline")
                for i, (b, c) in sorted(enumerate(shares), key=lambda s: -abs(s[1][1] - s[1][0]))]
    chars = (310.0, 520.0 if drift and field == "output" else 318.0)
    tests = [TestResult(name="mmd", test="mmd-rbf", statistic=0.021 if drift else 0.001, p_value=p, p_adjusted=p,
                        moved=drift),
             TestResult(name="chars", test="ks", statistic=0.31 if drift else 0.05, p_value=p * 2,
                         p_adjusted=min(p * 3, 1.0), baseline=chars[0], current=chars[1],
                         moved=drift and field == "output")]
    return DriftReport(field=field, drift=drift, p_value=p, statistic=tests[0].statistic, method="mmd-rbf-perm+ks-minp",
                       alpha=0.05, n_baseline=120, n_current=110, n_permutations=500, seed=0, bandwidth=0.82,
                       centroid_distance=0.04 if drift else 0.006, tests=tests, clusters=clusters,
                       embedder="all-MiniLM-L6-v2")


def _evaluation(rng: np.random.Generator, gain: float, golden_penalty: float) -> tuple[list[dict], list[dict]]:
    """Per-example eval and golden losses of champion and challenger, as the gate reads them."""
    champion, challenger = [], []
    for i in range(60):
        split = "golden" if i >= 48 else "eval"
        loss = float(rng.normal(1.9, 0.3))
        shift = golden_penalty if split == "golden" else -gain
        flags = ["refusal"] if i == 5 else []
        champion.append({"id": str(i), "split": split, "loss": loss, "flags": flags})
        challenger.append({"id": str(i), "split": split, "loss": loss + shift + float(rng.normal(0, 0.08)),
                           "flags": flags})
    return champion, challenger


def populate(state: StateRepository, model: str = MODEL, *, seed: int = 7) -> None:
    """Writes the whole history of ``model`` into ``state`` (a table made by ``create_state_table``)."""
    rng = np.random.default_rng(seed)
    prompts = [r["prompt"] for r in real_rows("gpt4_1106_preview", 8, start=40)]
    outputs = [r["output"] for r in real_rows("alpaca-7b", 8, start=40)]
    texts = {"prompt": prompts, "output": outputs}
    clock = Clock()
    registry = Registry(state, boto3.client("dynamodb", region_name=state.table.meta.client.meta.region_name))
    with ExitStack() as stack:
        stack.enter_context(patch("functions.common.repositories.utc_now", clock))
        stack.enter_context(patch("functions.registry.store.utc_now", clock))
        for n_day in range(DAYS):
            state.put(_window(model, n_day, rng))
        baseline = state.get(f"MODEL#{model}", f"WINDOW#{day(1)}")
        state.put({**baseline, "sk": "BASELINE", "window_sk": baseline["sk"], "adapter_version": 1,
                   "frozen_at": day(2.1)})
        for n_day in range(2, DAYS):
            for field in ("prompt", "output"):
                report = _drift_report(field, n_day, texts, rng)
                state.put({"pk": f"MODEL#{model}", "sk": f"DRIFT#{day(n_day)}#{field}", "window": day(n_day),
                           "field": field, "checked_at": day(n_day + 1.05), "report": report.model_dump(mode="json")})

        def version(at: float, gain: float, approval: str | None, golden_penalty: float = 0.0) -> dict[str, Any]:
            clock.now = day(at)
            gate = decide(*_evaluation(rng, gain, golden_penalty), GateConfig(n_bootstrap=400)).to_dict()
            record = registry.register(model, {
                "s3_uri": f"s3://driftgate-artifacts/adapters/{model}/run-{at:g}/adapter.tar.gz",
                "sha256": f"{int(at * 1000):064x}", "base_model": "Qwen/Qwen2.5-0.5B-Instruct", "gate": gate,
                "approval": "pending" if gate["decision"] == "promote" else "not-applicable",
                "execution_arn": f"arn:aws:states:us-east-1:123456789012:execution:retrain:run-{at:g}",
                "training": {"loss": {"train_before": 2.31, "train_after": 1.62 - gain,
                                      "eval_before": 2.05, "eval_after": 2.05 - gain},
                             "hyperparameters": {"r": 16, "lora_alpha": 32, "learning_rate": 0.0002, "epochs": 2}},
            })
            if approval:
                registry.set_approval(model, record["version"], approval, "reviewer@example.com")
            return record

        def run(at: float, name: str, status: str, **details: Any) -> None:
            clock.now = day(at)
            state.record_run(model, f"arn:aws:states:us-east-1:123456789012:execution:retrain:{name}", status,
                             **details)

        first = version(0.1, 0.12, "approved")
        clock.now = day(0.2)
        registry.move(model, first["version"], actor="bootstrap", reason="initial adapter")
        run(3.5, "run-3-5", "SKIPPED", reason="manual",
            dataset={"enough": False, "available_records": 140, "required_records": 200,
                     "message": f"{model}: 140 usable records; training needs at least 200"})
        run(7.4, "run-7-4", "FAILED", reason="quality_decay", error="States.TaskFailed",
            cause="SageMaker training job retrain-7-4 failed: ResourceLimitExceeded for ml.g5.xlarge")
        rejected = version(8.3, 0.004, None, golden_penalty=0.09)
        run(8.4, "run-8-4", "REJECTED", reason="quality_decay", gate=rejected["gate"], version=rejected["version"],
            trigger={"window": day(8), "delta": 0.72 - QUALITY[8], "baseline_quality": 0.72,
                     "current_quality": QUALITY[8], "reasons": [f"quality decay: ΔM = {0.72 - QUALITY[8]:.3f} > 0.1"]},
            dataset={"enough": True, "available_records": 1120, "required_records": 200,
                     "manifest": {"counts": {"train": 840, "eval": 120}}})
        promoted = version(9.2, 0.15, "approved")
        clock.now = day(9.3)
        registry.move(model, promoted["version"], actor="pipeline", reason="promote")
        run(9.3, "run-9-3", "PROMOTED", reason="drift", gate=promoted["gate"], version=promoted["version"],
            dataset={"enough": True, "available_records": 1390, "required_records": 200,
                     "manifest": {"counts": {"train": 1040, "eval": 150}}})
        clock.now = day(10.1)
        registry.rollback(model, actor="ops@example.com")
        clock.now = day(10.4)
        registry.move(model, promoted["version"], actor="ops@example.com", reason="promote")
        reviewed = version(11.2, 0.05, "rejected")
        run(11.3, "run-11-3", "REJECTED_BY_REVIEWER", reason="manual", gate=reviewed["gate"],
            version=reviewed["version"], error="ApprovalRejected", cause="rejected by reviewer@example.com")


def snapshot(model: str = MODEL) -> dict[str, Any]:
    """A ``collect_report_data`` snapshot of the sample history (moto, nothing leaves this process)."""
    from moto import mock_aws

    from driftgate.report import collect_report_data

    with mock_aws():
        state = create_state_table()
        populate(state, model)
        return collect_report_data(state, model, generated_at=day(DAYS))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.report.sample OUT.json")
    Path(sys.argv[1]).write_text(json.dumps(snapshot(), indent=1) + "\n", encoding="utf-8")
    print(sys.argv[1])
