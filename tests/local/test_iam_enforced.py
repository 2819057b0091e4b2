"""IAM is enforced in the local mode: every handler signs as its own function's role, moto's Step
Functions interpreter as the state machine's role, and a grant missing from the template fails
locally with AccessDenied exactly where AWS would deny it."""
from __future__ import annotations

import copy
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from driftgate.local import local_stack
from driftgate.local.deployment import REGION
from driftgate.testing.realdata import alpaca_records
from tests.notifications import subscribe_inbox


def without_action(template: dict[str, Any], role_prefix: str, action: str) -> dict[str, Any]:
    """The template with ``action`` taken out of every policy attached to the role ``role_prefix*``."""
    stripped = copy.deepcopy(template)
    roles = {lid for lid, r in stripped["Resources"].items()
             if r["Type"] == "AWS::IAM::Role" and lid.startswith(role_prefix)}
    assert len(roles) == 1, roles
    removed = 0
    for resource in stripped["Resources"].values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        if not roles & {r.get("Ref") for r in resource["Properties"]["Roles"]}:
            continue
        statements = resource["Properties"]["PolicyDocument"]["Statement"]
        for statement in statements:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if action in actions:
                removed += 1
                statement["Action"] = [a for a in actions if a != action]
        resource["Properties"]["PolicyDocument"]["Statement"] = [s for s in statements if s["Action"]]
    assert removed, f"{role_prefix} has no statement with {action}"
    return stripped


def records(n: int = 3) -> list[dict]:
    return alpaca_records("gpt4_1106_preview", n)


def test_each_handler_signs_as_its_function_role(local) -> None:
    api = local.function("ApiHandler")
    identity = local.identities.role(api.role_arn)
    topic = local.find("AWS::SNS::Topic", "Notifications")
    sns = boto3.client("sns", region_name=REGION)
    with local.identities.acting_as(identity):
        caller = boto3.client("sts", region_name=REGION).get_caller_identity()["Arn"]
        # The API's role has no sns:Publish: AWS would refuse it, and so does the local mode.
        with pytest.raises(ClientError) as denied:
            sns.publish(TopicArn=topic, Message="{}")
    assert caller.startswith("arn:aws:sts::") and api.role_arn.rsplit("/", 1)[-1] in caller
    assert denied.value.response["Error"]["Code"] in ("AccessDenied", "AuthorizationError")
    sns.publish(TopicArn=topic, Message="{}")  # the operator (tests, the CLI) may


def test_a_grant_scoped_to_another_resource_does_not_allow(local) -> None:
    """Resource scoping holds, not only actions: the API's role may write the interactions table
    but not PutItem into a table it was never granted."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(TableName="not-granted", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST")
    granted = local.find("AWS::DynamoDB::Table", "StorageInteractions")
    with local.identities.acting_as(local.identities.role(local.function("ApiHandler").role_arn)):
        dynamodb.put_item(TableName=granted, Item={"request_id": {"S": "iam-check"}})
        with pytest.raises(ClientError, match="AccessDenied"):
            dynamodb.put_item(TableName="not-granted", Item={"pk": {"S": "iam-check"}})


def test_ingest_needs_the_raw_bucket_grant(synthesized_template) -> None:
    with local_stack(synthesized_template) as stack:
        assert stack.api("POST", "/v1/interactions", {"interactions": records()}).status == 200

    with local_stack(without_action(synthesized_template, "ApiHandlerRole", "s3:PutObject")) as stack:
        # An unhandled error of the function: API Gateway would answer 502.
        denied = r"ApiHandler failed: AccessDenied: .*when calling the PutObject operation"
        with pytest.raises(RuntimeError, match=denied):
            stack.api("POST", "/v1/interactions", {"interactions": records()})
        stored = boto3.client("dynamodb", region_name=REGION).scan(
            TableName=stack.find("AWS::DynamoDB::Table", "StorageInteractions"))["Items"]
    assert stored == []  # the raw write comes first: nothing half-stored


def test_the_state_machine_needs_its_invoke_and_publish_grants(synthesized_template) -> None:
    with local_stack(synthesized_template) as stack:
        inbox = subscribe_inbox(stack)
        result = stack.run({"model": "support-bot", "reason": "iam"})
        assert result.status == "SUCCEEDED" and [n["status"] for n in inbox()] == ["SKIPPED"]

    with local_stack(without_action(synthesized_template, "RetrainStateMachineRole", "sns:Publish")) as stack:
        result = stack.run({"model": "support-bot", "reason": "iam"})
        role = stack.identities.role(stack.identities.state_machine_role or "")
        with stack.identities.acting_as(role), pytest.raises(ClientError, match="AccessDenied"):
            boto3.client("sns", region_name=REGION).publish(
                TopicArn=stack.find("AWS::SNS::Topic", "Notifications"), Message="{}")
    # NotifyOutcome is refused and the execution ends there (moto's interpreter reports the refusal
    # as States.Runtime: its SNS task reads a RequestId that moto's AccessDenied answer lacks).
    assert result.status == "FAILED"
    assert result.states == ["PrepareDataset", "EnoughData?", "NotEnoughData", "FinishRun", "NotifyOutcome"]

    with local_stack(without_action(synthesized_template, "RetrainStateMachineRole", "lambda:InvokeFunction")) as stack:
        result = stack.run({"model": "support-bot", "reason": "iam"})
    assert result.status == "FAILED" and result.states[0] == "PrepareDataset"
    assert stack.dispatcher.invocations == []  # no handler ran: the invoke itself was refused
