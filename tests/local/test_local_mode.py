"""The local mode runs the synthesized stack on moto with the real handlers."""
from __future__ import annotations

import json

import boto3
import pytest
from typer.testing import CliRunner

from driftgate.local.deployment import REGION
from driftgate.paths import embedding_cache
from functions.common.contract import Settings
from tests.notifications import subscribe_inbox


def test_deploys_every_resource_of_the_template(local, synthesized_template) -> None:
    for resource_type in ("AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::Lambda::Function",
                          "AWS::StepFunctions::StateMachine", "AWS::SNS::Topic", "AWS::Events::Rule"):
        expected = [lid for lid, r in synthesized_template["Resources"].items() if r["Type"] == resource_type]
        assert sorted(local.resources_of_type(resource_type)) == sorted(expected)
    artifacts = local.find("AWS::S3::Bucket", "StorageArtifacts")
    assert boto3.client("s3", region_name=REGION).get_bucket_versioning(Bucket=artifacts)["Status"] == "Enabled"


def test_state_machine_is_the_synthesized_definition(local) -> None:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=local.state_machine_arn)["definition"])
    prepare = definition["States"]["PrepareDataset"]
    assert prepare["Resource"] == local.function("PrepareDataset").arn
    assert prepare["Catch"][0]["Next"] == "RecordFailure"


def test_api_request_reaches_the_real_handler(local) -> None:
    response = local.api("GET", "/v1/health")
    assert response.status == 200 and response.json() == {"status": "ok", "service": "driftgate"}
    assert local.api("GET", "/v1/no-such-route").status == 404
    assert [lid for lid, _ in local.dispatcher.invocations].count(local.function("ApiHandler").logical_id) == 2


def test_execution_succeeds_through_real_handlers(local) -> None:
    seen: list[str] = []
    result = local.run({"model": "support-bot", "reason": "test"}, on_state=seen.append)
    assert result.status == "SUCCEEDED"
    assert seen == ["PrepareDataset", "EnoughData?", "NotEnoughData", "FinishRun", "NotifyOutcome", "Done"]
    assert result.output["dataset"]["available_records"] == 0 and result.output["dataset"]["enough"] is False
    # FinishRun really wrote the run record through the state table.
    table = boto3.resource("dynamodb", region_name=REGION).Table(local.find("AWS::DynamoDB::Table", "StorageState"))
    runs = table.scan()["Items"]
    assert any(item["sk"].startswith("RUN#") and item["status"] == "SKIPPED" for item in runs)


def test_failing_task_ends_in_the_failure_path_with_a_notification(local) -> None:
    inbox = subscribe_inbox(local)

    # An invalid model name fails PrepareDataset's input validation: a real handler error.
    result = local.run({"model": "not a valid name!", "reason": "test"})

    assert result.status == "FAILED" and result.error == "RetrainFailed"
    assert result.states == ["PrepareDataset", "RecordFailure", "NotifyFailure", "Failed"]
    (notification,) = inbox()
    assert notification["status"] == "FAILED" and "ValidationError" in notification["cause"]


def test_handler_metrics_are_collected_as_emf(local) -> None:
    records = [{"request_id": f"emf-{i}", "model": "support-bot", "prompt": "What is 2 + 2?", "output": "4"}
               for i in range(3)]
    assert local.api("POST", "/v1/interactions", {"interactions": records}).status == 200
    emitted = {name for line in local.dispatcher.metrics
               for directive in line["_aws"]["CloudWatchMetrics"] for name in (m["Name"] for m in directive["Metrics"])}
    assert {"InteractionsAccepted", "InteractionsDuplicate", "Quality"} <= emitted
    accepted = [line["InteractionsAccepted"] for line in local.dispatcher.metrics if "InteractionsAccepted" in line]
    assert accepted[-1] in (3, [3.0])


def test_schedule_invokes_the_drift_check_dispatcher(local) -> None:
    # The monitored model has no baseline yet: the dispatcher names it and starts no check.
    (result,) = local.fire_schedule()
    assert result == {"dispatched": [], "without_baseline": ["support-bot"], "checks": []}
    assert [lid for lid, _ in local.dispatcher.invocations] == [local.function("DriftDispatch").logical_id]


def test_the_drift_check_caches_embeddings_where_the_cli_does(local) -> None:
    """The stack sets no cache; on this machine the handlers share the CLI's and the tests'."""
    assert local.dispatcher.local_environment[Settings.embedding_cache_dir.name] == str(embedding_cache())


@pytest.mark.slow
def test_selfcheck_command_prints_states_and_succeeds() -> None:
    from driftgate.cli import app

    result = CliRunner().invoke(app, ["local", "selfcheck"])
    assert result.exit_code == 0, result.output
    for state in ("PrepareDataset", "FinishRun", "Done", "SUCCEEDED"):
        assert state in result.output
