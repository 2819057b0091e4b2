"""A failing training job ends in the failure path with production untouched; the trigger starts
one run at a time and holds its cooldown."""
from __future__ import annotations

import threading

import boto3
import pytest

from driftgate.local import local_stack
from driftgate.local.deployment import REGION
from driftgate.local.profile import local_training_context
from driftgate.testing.realdata import alpaca_records, gsm8k_records, ingest
from functions.common.exceptions import ConflictError
from tests.notifications import subscribe_inbox

MODEL = "support-bot"


@pytest.mark.slow
def test_training_failure_ends_in_failure_path_and_production_is_untouched(tmp_path) -> None:
    missing_base = tmp_path / "no-such-base-model"
    with local_stack(context=local_training_context(missing_base)) as stack:
        inbox = subscribe_inbox(stack)
        ingest(stack, gsm8k_records(60, model=MODEL))
        with stack.environment("Register"):
            from functions.registry.store import registry

            registry().register(MODEL, {"s3_uri": "s3://earlier/adapter/model.tar.gz", "sha256": "ab" * 32,
                                        "gate": {"decision": "promote"}, "approval": "approved"})
            registry().move(MODEL, 1, actor="test", reason="promote")
        before = stack.api("GET", f"/v1/models/{MODEL}/adapters/production").json()

        result = stack.run({"model": MODEL, "reason": "test"})

        assert result.status == "FAILED" and result.error == "RetrainFailed"
        assert result.states[-4:] == ["Train", "RecordFailure", "NotifyFailure", "Failed"]
        assert stack.api("GET", f"/v1/models/{MODEL}/adapters/production").json() == before
        (notification,) = [m for m in inbox() if m.get("status") == "FAILED"]
        assert "train.py exited" in notification["cause"] and "Production adapter unchanged" in notification["message"]
        assert stack.sagemaker.jobs[-1]["succeeded"] is False


def test_breach_starts_one_run_and_the_cooldown_holds(synthesized_template) -> None:
    # Too few training records on purpose: the run ends quickly on the SKIPPED branch.
    context = {"driftgate:min_training_records": 100000}
    with local_stack(context=context) as stack:
        ingest(stack, alpaca_records("gpt4_1106_preview", 60, model=MODEL, day="2026-11-20"))
        stack.api("POST", f"/v1/models/{MODEL}/baseline")
        ingest(stack, gsm8k_records(60, model=MODEL, day="2026-11-21"))

        (first,) = stack.fire_schedule()[0]["checks"]
        assert first["status"] == "breach-started" and first["drift"]["prompt"]["drift"] is True
        (busy,) = stack.fire_schedule()[0]["checks"]
        result = stack.wait(first["execution_arn"])
        assert result.status == "SUCCEEDED" and result.output["status"] == "SKIPPED"
        (cooling,) = stack.fire_schedule()[0]["checks"]

        assert busy["status"] == "breach-suppressed" and "running or cooling down" in busy["detail"]
        assert cooling["status"] == "breach-suppressed"
        executions = boto3.client("stepfunctions", region_name=REGION).list_executions(
            stateMachineArn=stack.state_machine_arn)["executions"]
        assert len(executions) == 1
        assert stack.api("POST", f"/v1/models/{MODEL}/retrain").status == 409


def test_concurrent_triggers_start_exactly_one_execution() -> None:
    with local_stack(context={"driftgate:min_training_records": 100000}) as stack:
        from functions.common.repositories import repositories
        from functions.monitor.trigger import start_retrain

        outcomes: list[str] = []
        started: list[str] = []
        barrier = threading.Barrier(4)

        def trigger() -> None:
            barrier.wait()
            try:
                started.append(start_retrain(repositories(), MODEL, "drift"))
                outcomes.append("started")
            except ConflictError:
                outcomes.append("suppressed")

        with stack.environment("DriftCheck"):
            threads = [threading.Thread(target=trigger) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        # The run's handlers wait for the block above to end (one function environment at a time).
        assert stack.wait(started[0]).status == "SUCCEEDED"
        assert sorted(outcomes) == ["started", "suppressed", "suppressed", "suppressed"]
        executions = boto3.client("stepfunctions", region_name=REGION).list_executions(
            stateMachineArn=stack.state_machine_arn)["executions"]
        assert len(executions) == 1
