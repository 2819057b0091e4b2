"""Manual approval: RequestApproval parks a run on a task token; the API resumes or rejects it.

The real handler and API route, on moto's interpreter; the waiting state is the same
``lambda:invoke.waitForTaskToken`` task the manual-mode pipeline uses (see
tests/infra/test_stack.py::test_manual_approval_waits_for_a_task_token), alone in a small state
machine so that no training job has to run first."""
from __future__ import annotations

import json
import time

import boto3
import pytest

from driftgate.local import local_stack
from driftgate.local.deployment import REGION

MODEL = "support-bot"


@pytest.fixture(scope="module")
def manual():
    with local_stack(context={"driftgate:approval_mode": "manual"}) as stack:
        yield stack


def park(stack, version: int) -> str:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    definition = {"StartAt": "RequestApproval", "States": {"RequestApproval": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": stack.function("RequestApproval").arn,
                       "Payload": {"model": MODEL, "version": version, "task_token.$": "$$.Task.Token"}},
        "End": True}}}
    machine = sfn.create_state_machine(name=f"approval-{version}", definition=json.dumps(definition),
                                       roleArn=f"arn:aws:iam::123456789012:role/approval")["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, name=f"run-{version}", input="{}")["executionArn"]
    # Read the table directly: the handler is running in the execution's thread meanwhile.
    table = boto3.resource("dynamodb", region_name=REGION).Table(stack.find("AWS::DynamoDB::Table", "StorageState"))
    deadline = time.monotonic() + 60
    while "task_token" not in table.get_item(Key={"pk": f"MODEL#{MODEL}", "sk": f"VERSION#{version:06d}"})["Item"]:
        assert time.monotonic() < deadline, "RequestApproval never stored the task token"
        time.sleep(0.05)
    return arn


def register(stack) -> int:
    with stack.environment("Register"):
        from functions.registry.store import registry

        return registry().register(MODEL, {"s3_uri": "s3://a/model.tar.gz", "sha256": "cd" * 32,
                                           "gate": {"decision": "promote"}, "approval": "pending"})["version"]


def test_approve_resumes_the_run(manual) -> None:
    version = register(manual)
    execution = park(manual, version)
    response = manual.api("POST", f"/v1/models/{MODEL}/approvals/{version}", {"approve": True, "comment": "looks good"})
    assert response.status == 200 and response.json()["approval"] == "approved"
    result = manual.wait(execution, timeout_s=30)
    assert result.status == "SUCCEEDED" and result.output["comment"] == "looks good"
    again = manual.api("POST", f"/v1/models/{MODEL}/approvals/{version}", {"approve": False})
    assert again.status == 409


def test_reject_fails_the_wait_with_approval_rejected(manual) -> None:
    version = register(manual)
    execution = park(manual, version)
    response = manual.api("POST", f"/v1/models/{MODEL}/approvals/{version}", {"approve": False, "comment": "no"})
    assert response.status == 200 and response.json()["approval"] == "rejected"
    result = manual.wait(execution, timeout_s=30)
    assert result.status == "FAILED" and result.error == "ApprovalRejected"


def test_approval_of_a_version_not_waiting_is_a_conflict(manual) -> None:
    version = register(manual)
    assert manual.api("POST", f"/v1/models/{MODEL}/approvals/{version}", {"approve": True}).status == 409
    assert manual.api("POST", f"/v1/models/{MODEL}/approvals/999", {"approve": True}).status == 404
    assert manual.api("POST", f"/v1/models/{MODEL}/approvals/{version}", {"approve": "yes"}).status == 422
