"""Manual approval on the synthesized pipeline (``approval_mode=manual``): a run that passes the
gate parks in RequestApproval on a task token; the API approves (the run promotes) or rejects
(the run ends REJECTED_BY_REVIEWER and the version can never be promoted)."""
from __future__ import annotations

import time

import boto3
import pytest

from driftgate.local import local_stack
from driftgate.local.deployment import REGION
from driftgate.local.profile import local_training_context
from driftgate.testing.realdata import alpaca_records, gsm8k_records, ingest

MODEL = "support-bot"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def manual(tiny_base):
    # Promotion once approved (rollout=direct): the flow under test here is the approval, not the canary.
    context = local_training_context(tiny_base, quick=True, **{"driftgate:approval_mode": "manual",
                                                   "driftgate:rollout": "direct",
                                                   "driftgate:cooldown_hours": 0,
                                                   "driftgate:monitored_models": [MODEL]})
    with local_stack(context=context) as stack:
        assert ingest(stack, alpaca_records("gpt4_1106_preview", 120, model=MODEL, day="2026-11-20")) == 120
        assert ingest(stack, gsm8k_records(150, model=MODEL, day="2026-11-21")) == 150
        yield stack


def parked_version(stack, execution_arn: str, timeout_s: float = 900) -> int:
    """Waits until the run waits in RequestApproval and returns the version it registered."""
    table = boto3.resource("dynamodb", region_name=REGION).Table(stack.find("AWS::DynamoDB::Table", "StorageState"))
    sfn = boto3.client("stepfunctions", region_name=REGION)
    deadline = time.monotonic() + timeout_s
    while True:
        # Read the table directly: handlers run in the execution's thread meanwhile.
        versions = table.query(KeyConditionExpression="pk = :pk AND begins_with(sk, :v)",
                               ExpressionAttributeValues={":pk": f"MODEL#{MODEL}", ":v": "VERSION#"})["Items"]
        pending = [i for i in versions if i.get("approval") == "pending" and "task_token" in i]
        if pending:
            return int(pending[-1]["version"])
        status = sfn.describe_execution(executionArn=execution_arn)["status"]
        assert status == "RUNNING", f"the run ended {status} before asking for approval"
        assert time.monotonic() < deadline, "the run never parked in RequestApproval"
        time.sleep(0.5)


def retrain(stack) -> str:
    started = stack.api("POST", f"/v1/models/{MODEL}/retrain")
    assert started.status == 200, started.body
    return started.json()["execution_arn"]


def test_reject_ends_the_run_and_the_version_can_never_be_promoted(manual) -> None:
    execution = retrain(manual)
    version = parked_version(manual, execution)

    response = manual.api("POST", f"/v1/models/{MODEL}/approvals/{version}", {"approve": False, "comment": "no"})
    assert response.status == 200 and response.json()["approval"] == "rejected"
    result = manual.wait(execution, timeout_s=120)

    assert result.status == "SUCCEEDED" and result.output["status"] == "REJECTED_BY_REVIEWER"
    assert "ReviewerRejected" in result.states and "Promote" not in result.states
    promote = manual.api("POST", f"/v1/models/{MODEL}/adapters/{version}/promote")
    assert promote.status == 409 and "rejected by a reviewer" in promote.json()["message"]
    assert manual.api("GET", f"/v1/models/{MODEL}/adapters/production").status == 404


def test_approve_resumes_the_synthesized_run_and_promotes(manual) -> None:
    execution = retrain(manual)
    version = parked_version(manual, execution)
    assert manual.api("GET", f"/v1/models/{MODEL}/adapters/production").status == 404  # not before approval

    response = manual.api("POST", f"/v1/models/{MODEL}/approvals/{version}", {"approve": True, "comment": "looks good"})
    assert response.status == 200 and response.json()["approval"] == "approved"
    result = manual.wait(execution, timeout_s=120)

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    states = result.states
    assert (states.index("GatePassed?") < states.index("RequestApproval") < states.index("Promote")
            < states.index("Done"))
    assert result.output["approval"]["comment"] == "looks good"
    assert manual.api("GET", f"/v1/models/{MODEL}/adapters/production").json()["version"] == version
    # Decided once: a second decision is a conflict.
    assert manual.api("POST", f"/v1/models/{MODEL}/approvals/{version}", {"approve": False}).status == 409


def test_approval_of_a_version_not_waiting_is_a_conflict(manual) -> None:
    versions = manual.api("GET", f"/v1/models/{MODEL}/adapters").json()["versions"]
    decided = versions[0]["version"]
    assert manual.api("POST", f"/v1/models/{MODEL}/approvals/{decided}", {"approve": True}).status == 409
    assert manual.api("POST", f"/v1/models/{MODEL}/approvals/999", {"approve": True}).status == 404
    assert manual.api("POST", f"/v1/models/{MODEL}/approvals/{decided}", {"approve": "yes"}).status == 422
