"""Faults injected into the retrain pipeline on the local stack (driftgate.local.faults), each
where AWS would raise it: every one ends in a retry that succeeds or in the failure path, with
production untouched and a notification naming the cause; then the failed run's own input,
started again as from the console's "New execution", succeeds.

One stack for the module, as an incident would unfold: v1 is in production, new data arrives,
and the runs that should make v2 hit one fault after another.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest

from driftgate.local import local_stack
from driftgate.local.deployment import REGION, ExecutionResult, LocalDeployment
from driftgate.local.profile import local_training_context
from driftgate.testing.realdata import gsm8k_records, ingest
from tests.notifications import subscribe_inbox

MODEL = "support-bot"
pytestmark = pytest.mark.slow
FAILURE_TAIL = ["RecordFailure", "NotifyFailure", "Failed"]


@pytest.fixture(scope="module")
def base_model(tiny_base, tmp_path_factory) -> Path:
    # A copy of our own, so one test can take it away from the training job.
    return Path(shutil.copytree(tiny_base, tmp_path_factory.mktemp("faults") / "base"))


@pytest.fixture(scope="module")
def stack(base_model):
    # A quick run is enough to tell faults apart; this module trains five times.
    # Promotion right after the gate (rollout=direct): the faults are the pipeline's, not the canary's.
    context = local_training_context(base_model, quick=True, **{"driftgate:rollout": "direct"})
    with local_stack(context=context) as deployment:
        yield deployment


@pytest.fixture(scope="module")
def inbox(stack):
    return subscribe_inbox(stack)


@pytest.fixture(autouse=True)
def disarm(stack):
    yield
    stack.faults.clear()


def production(stack: LocalDeployment) -> dict[str, Any]:
    return stack.api("GET", f"/v1/models/{MODEL}/adapters/production").json()


def history(stack: LocalDeployment) -> list[dict[str, Any]]:
    with stack.environment("Promote"):
        from functions.registry.store import registry

        return registry().history(MODEL)


def handler_runs(stack: LocalDeployment, function: str) -> int:
    """How many times ``function``'s handler really ran (injected errors answer without it)."""
    return sum(logical_id.startswith(function) for logical_id, _ in stack.dispatcher.invocations)


def notification_of(inbox, result: ExecutionResult) -> dict[str, Any]:
    (message,) = [m for m in inbox() if m.get("execution_arn") == result.arn]
    return message


def assert_failed_safely(stack: LocalDeployment, inbox, result: ExecutionResult, *, at: str, cause: str,
                         before: dict[str, Any]) -> dict[str, Any]:
    """The run went down the failure path from ``at``, production and its history did not move,
    and the operators were told the cause."""
    assert result.status == "FAILED" and result.error == "RetrainFailed", result
    assert result.states[-4:] == [at, *FAILURE_TAIL], result.states
    assert production(stack) == before
    message = notification_of(inbox, result)
    assert cause in message["cause"], message
    assert message["message"].endswith("Production adapter unchanged.") and message["production_moved_to"] is None
    return message


def test_transient_faults_are_retried_and_the_run_promotes_v1(stack, inbox) -> None:
    """A gate Lambda that times out once and DynamoDB throttling the promotion three times."""
    assert ingest(stack, gsm8k_records(48, model=MODEL, day="2026-11-20")) == 48
    stack.faults.lambda_timeout("Gate", times=1)
    stack.faults.throttle_dynamodb("TransactWriteItems", function="Promote", times=3)

    result = stack.run({"model": MODEL, "reason": "first adapter"})

    assert result.status == "SUCCEEDED" and result.output["status"] == "PROMOTED", result
    # Step Functions retried the timed-out Gate; botocore retried the throttled transaction.
    assert stack.faults.fired == {"lambda:Sandbox.Timedout:Gate": 1, "throttle:TransactWriteItems:Promote": 3}
    assert handler_runs(stack, "Gate") == 1 and handler_runs(stack, "Promote") == 1
    assert production(stack)["version"] == 1
    (move,) = history(stack)
    assert (move["to_version"], move["actor"]) == (1, result.arn)  # one move, by this run
    assert notification_of(inbox, result)["promoted_version"] == 1


def test_training_job_failure(stack, inbox, base_model) -> None:
    # New data arrives: the next runs would make v2.
    assert ingest(stack, gsm8k_records(48, start=48, model=MODEL, day="2026-11-21")) == 48
    before = production(stack)
    hidden = base_model.with_name("base-unavailable")
    base_model.rename(hidden)  # the training job cannot load its base model
    try:
        result = stack.run({"model": MODEL, "reason": "new data"})
    finally:
        hidden.rename(base_model)
    assert_failed_safely(stack, inbox, result, at="Train", cause="train.py exited with", before=before)


def test_evaluation_job_crash(stack, inbox) -> None:
    before = production(stack)
    stack.faults.crash_job("finetune/compare.py")
    result = stack.run({"model": MODEL, "reason": "new data"})
    assert stack.faults.fired == {"crash:finetune/compare.py": 1}
    assert_failed_safely(stack, inbox, result, at="EvaluateVsChampion",
                         cause="finetune/compare.py was killed by SIGKILL", before=before)


def test_corrupted_adapter_is_refused_at_registration(stack, inbox) -> None:
    before, versions_before = production(stack), stack.api("GET", f"/v1/models/{MODEL}/adapters").json()
    stack.faults.corrupt_adapter(before="Register")
    result = stack.run({"model": MODEL, "reason": "new data"})
    assert_failed_safely(stack, inbox, result, at="Register", cause="does not match the training manifest",
                         before=before)
    assert stack.api("GET", f"/v1/models/{MODEL}/adapters").json() == versions_before  # nothing registered


def test_gate_lambda_timing_out_every_attempt(stack, inbox) -> None:
    before = production(stack)
    stack.faults.lambda_timeout("Gate")
    result = stack.run({"model": MODEL, "reason": "new data"})
    assert stack.faults.fired == {"lambda:Sandbox.Timedout:Gate": 4}  # the first attempt and 3 retries
    assert_failed_safely(stack, inbox, result, at="Gate", cause="Sandbox.Timedout: Task timed out after",
                         before=before)


def test_sustained_dynamodb_throttling_of_registration(stack, inbox) -> None:
    before = production(stack)
    stack.faults.throttle_dynamodb("UpdateItem", function="Register")
    result = stack.run({"model": MODEL, "reason": "new data"})
    # The first try and botocore's 5 retries (standard mode, max_attempts=5), then the handler gave up.
    assert stack.faults.fired == {"throttle:UpdateItem:Register": 6}
    assert_failed_safely(stack, inbox, result, at="Register", cause="ThrottlingException", before=before)


def test_rerun_with_the_failed_runs_input_succeeds(stack, inbox) -> None:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    failed = sfn.list_executions(stateMachineArn=stack.state_machine_arn, statusFilter="FAILED")["executions"]
    assert len(failed) == 5
    inputs = {sfn.describe_execution(executionArn=e["executionArn"])["input"] for e in failed}
    assert len(inputs) == 1  # the same console input for every failed run, so one rerun answers for all
    before = production(stack)

    result = stack.run(json.loads(inputs.pop()))

    assert result.status == "SUCCEEDED" and result.output["status"] == "PROMOTED", result
    assert (before["version"], production(stack)["version"]) == (1, 2)
    assert [(m["from_version"], m["to_version"]) for m in history(stack)] == [(None, 1), (1, 2)]
    versions = stack.api("GET", f"/v1/models/{MODEL}/adapters").json()
    assert [v["version"] for v in versions["versions"]] == [1, 2]  # the failed runs registered nothing
    assert notification_of(inbox, result)["promoted_version"] == 2
