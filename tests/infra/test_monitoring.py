"""The Monitoring construct: a dashboard of every signal, alarms that reach the encrypted topic, no nag findings.

Built on a small stack of its own (a mock-integration REST API, two inline functions, a one-state machine,
a topic encrypted with a customer-managed key), and checked in the real stack once it creates the construct.
"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Annotations, Match, Template
from cdk_nag import AwsSolutionsChecks, NagPackSuppression, NagSuppressions

from infra.app import cdk_json_context
from infra.components.handler_function import RUNTIME
from infra.components.monitoring import DRIFT_FIELDS, Monitoring

MODELS = ("support-bot", "billing-bot")
ALPHA = 0.01
THRESHOLD = 0.15
FUNCTIONS = ("ApiHandler", "DriftCheck")


def _fixture_suppressions(stack: cdk.Stack, api: apigw.RestApi, machine: sfn.StateMachine,
                          functions: dict[str, lambda_.Function]) -> None:
    """Findings of the minimal fixture resources only; the key, the topic and Monitoring get none."""
    NagSuppressions.add_resource_suppressions(api, [
        NagPackSuppression(id=rule, reason="Test fixture: a bare mock-integration REST API that only provides "
                                           "the stage whose metrics the monitoring construct reads.")
        for rule in ("AwsSolutions-APIG1", "AwsSolutions-APIG2", "AwsSolutions-APIG3", "AwsSolutions-APIG4",
                     "AwsSolutions-APIG6", "AwsSolutions-COG4")
    ], apply_to_children=True)
    NagSuppressions.add_resource_suppressions(machine, [
        NagPackSuppression(id=rule, reason="Test fixture: a one-state machine without logging or tracing, only "
                                           "there for its execution metrics.")
        for rule in ("AwsSolutions-SF1", "AwsSolutions-SF2")
    ], apply_to_children=True)
    for function in functions.values():
        NagSuppressions.add_resource_suppressions(function, [NagPackSuppression(
            id="AwsSolutions-IAM4", reason="Test fixture: an inline function with CDK's default execution "
                                           "role, only there for its Lambda metrics.")], apply_to_children=True)


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    app = cdk.App(context=cdk_json_context())
    stack = cdk.Stack(app, "MonitoringTest")
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    topic = sns.Topic(stack, "Topic", master_key=key, enforce_ssl=True)
    functions = {
        name: lambda_.Function(stack, name, runtime=RUNTIME, handler="index.handler",
                               code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"))
        for name in FUNCTIONS
    }
    api = apigw.RestApi(stack, "Api", deploy_options=apigw.StageOptions(stage_name="prod"))
    api.root.add_method("GET", apigw.MockIntegration())
    machine = sfn.StateMachine(stack, "Machine",
                               definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "Noop")))
    monitoring = Monitoring(stack, "Monitoring", api=api, functions=functions, state_machine=machine, topic=topic,
                            key=key, models=MODELS, drift_alpha=ALPHA, quality_decay_threshold=THRESHOLD)
    _fixture_suppressions(stack, api, machine, functions)
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    template = Template.from_stack(stack)
    return {"stack": stack, "template": template, "monitoring": monitoring, "topic": topic, "key": key,
            "functions": functions, "machine": machine}


def _ref(stack: cdk.Stack, construct: Any) -> dict[str, str]:
    return {"Ref": stack.get_logical_id(construct.node.default_child)}


def _dashboard(template: Template) -> dict[str, Any]:
    """The dashboard body as JSON: it is an Fn::Join whose tokens all sit inside JSON strings."""
    (dashboard,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    return json.loads("".join(part if isinstance(part, str) else "TOKEN" for part in parts))


def _graphs(template: Template) -> dict[str, dict[str, Any]]:
    return {w["properties"]["title"]: w["properties"] for w in _dashboard(template)["widgets"] if w["type"] == "metric"}


def _metric_names(graph: dict[str, Any]) -> set[str]:
    return {line[1] for line in graph["metrics"] if isinstance(line[0], str)}


def _dimensions(line: list[Any]) -> dict[str, Any]:
    keys_and_values = [item for item in line[2:] if not isinstance(item, dict)]
    return dict(zip(keys_and_values[::2], keys_and_values[1::2], strict=True))


def _alarms(template: Template, metric_name: str) -> list[dict[str, Any]]:
    return [a["Properties"] for a in template.find_resources("AWS::CloudWatch::Alarm").values()
            if a["Properties"].get("MetricName") == metric_name]


def _dims(alarm: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}


# --- the dashboard ---------------------------------------------------------------------------------------------

def test_one_dashboard_without_a_fixed_name(built) -> None:
    built["template"].resource_count_is("AWS::CloudWatch::Dashboard", 1)
    built["template"].has_resource_properties("AWS::CloudWatch::Dashboard", {"DashboardName": Match.absent()})


def test_dashboard_body_mentions_every_metric(built) -> None:
    graphs = _graphs(built["template"]).values()
    names = set().union(*(_metric_names(g) for g in graphs))
    searches = " ".join(line[0]["expression"] for g in graphs for line in g["metrics"] if isinstance(line[0], dict))
    for metric in ("InteractionsAccepted", "InteractionsDuplicate", "Quality", "DriftPValue", "QualityDelta",
                   "GatePromote", "GateReject", "ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed",
                   "4XXError", "5XXError", "Latency", "Errors", "Throttles", "Duration"):
        assert metric in names, metric
    assert 'MetricName="PipelineRuns"' in searches


def test_ingest_and_quality_widgets(built) -> None:
    graphs = _graphs(built["template"])
    ingest = graphs["Ingested interactions (sum / 5 min)"]
    assert {"InteractionsAccepted", "InteractionsDuplicate"} <= _metric_names(ingest)
    assert all(line[0] == "Driftgate" and line[-1]["stat"] == "Sum" and _dimensions(line) == {"service": "driftgate"}
               for line in ingest["metrics"])
    quality = graphs["Mean quality score of accepted interactions (hourly)"]
    assert _metric_names(quality) == {"Quality"}
    assert quality["metrics"][0][-1].get("stat", "Average") == "Average"


def test_drift_widget_per_model_and_field_with_alpha_annotation(built) -> None:
    graphs = _graphs(built["template"])
    for model in MODELS:
        graph = graphs[f"Drift p-value: {model} (min / hour)"]
        assert {(_dimensions(line)["model"], _dimensions(line)["field"]) for line in graph["metrics"]} == {
            (model, field) for field in DRIFT_FIELDS}
        assert all(line[1] == "DriftPValue" and line[-1]["stat"] == "Minimum"
                   and _dimensions(line)["service"] == "driftgate" for line in graph["metrics"])
        (annotation,) = graph["annotations"]["horizontal"]
        assert annotation["value"] == ALPHA / len(DRIFT_FIELDS) and annotation["fill"] == "below"


def test_quality_delta_widget_with_threshold_annotation(built) -> None:
    graph = _graphs(built["template"])["Quality delta, baseline - current (max / hour)"]
    assert {_dimensions(line)["model"] for line in graph["metrics"]} == set(MODELS)
    assert all(line[1] == "QualityDelta" and line[-1]["stat"] == "Maximum" for line in graph["metrics"])
    (annotation,) = graph["annotations"]["horizontal"]
    assert annotation["value"] == THRESHOLD and annotation["fill"] == "above"


def test_pipeline_widgets(built) -> None:
    graphs = _graphs(built["template"])
    (search,) = graphs["Finished runs by status (hourly)"]["metrics"]
    assert re.fullmatch(r"SEARCH\('\{Driftgate,service,status\} MetricName=\"PipelineRuns\".*'Sum', 3600\)",
                        search[0]["expression"])
    gate = graphs["Gate outcomes (hourly)"]
    assert {(line[1], _dimensions(line)["model"]) for line in gate["metrics"]} == {
        (outcome, model) for outcome in ("GatePromote", "GateReject") for model in MODELS}
    machine = graphs["State machine executions (hourly)"]
    assert {"ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed"} <= _metric_names(machine)
    assert all(line[0] == "AWS/States" for line in machine["metrics"])


def test_canary_widgets_per_model(built) -> None:
    graphs = _graphs(built["template"])
    for model in MODELS:
        look = graphs[f"Canary: {model}: quality effect (staging - production) and always-valid p-value"]
        assert {(line[1], _dimensions(line)["model"]) for line in look["metrics"]} == {
            ("CanaryEffect", model), ("CanaryPValue", model)}
    sizes = graphs["Canary arm sizes (interactions since the canary started)"]
    assert {(_dimensions(line)["model"], _dimensions(line)["arm"]) for line in sizes["metrics"]} == {
        (model, arm) for model in MODELS for arm in ("production", "staging")}
    (search,) = graphs["Canary decisions (hourly)"]["metrics"]
    assert re.fullmatch(r"SEARCH\('\{Driftgate,decision,model,service\} MetricName=\"CanaryDecisions\".*'Sum', 3600\)",
                        search[0]["expression"])


def test_api_widgets_read_the_stage_metrics(built) -> None:
    graphs = _graphs(built["template"])
    errors = graphs["Requests and errors (sum / 5 min)"]
    assert {"Count", "4XXError", "5XXError"} == _metric_names(errors)
    latency = graphs["Latency (ms)"]
    assert {"Latency", "IntegrationLatency"} == _metric_names(latency)
    for line in errors["metrics"] + latency["metrics"]:
        assert line[0] == "AWS/ApiGateway" and set(_dimensions(line)) == {"ApiName", "Stage"}


def test_lambda_widget_per_function(built) -> None:
    graphs = _graphs(built["template"])
    for name in FUNCTIONS:
        graph = graphs[f"{name}: errors, throttles (sum) and duration (p99, ms)"]
        assert _metric_names(graph) == {"Errors", "Throttles", "Duration"}
        assert all(line[0] == "AWS/Lambda" for line in graph["metrics"])


def test_alarm_status_widget_lists_every_alarm(built) -> None:
    (status,) = [w for w in _dashboard(built["template"])["widgets"] if w["type"] == "alarm"]
    assert len(status["properties"]["alarms"]) == len(built["monitoring"].alarms)


def test_drift_fields_are_the_checks_fields() -> None:
    """The check's FIELDS (read without importing its numeric dependencies) are the ones monitored."""
    source = (Path(__file__).resolve().parents[2] / "functions" / "monitor" / "checks.py").read_text()
    (fields,) = [ast.literal_eval(node.value) for node in ast.parse(source).body
                 if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["FIELDS"]]
    assert tuple(fields) == DRIFT_FIELDS


# --- the alarms --------------------------------------------------------------------------------------------------

def test_alarm_names_and_count(built) -> None:
    expected = {f"drift:{m}:{f}" for m in MODELS for f in DRIFT_FIELDS} | {f"quality-decay:{m}" for m in MODELS} | {
        "pipeline-failed", "api-5xx"} | {f"errors:{name}" for name in FUNCTIONS}
    assert set(built["monitoring"].alarms) == expected
    built["template"].resource_count_is("AWS::CloudWatch::Alarm", len(expected))


def test_every_alarm_notifies_the_topic_and_explains_itself(built) -> None:
    topic = _ref(built["stack"], built["topic"])
    for logical_id, alarm in built["template"].find_resources("AWS::CloudWatch::Alarm").items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [topic], logical_id
        assert "AlarmName" not in props, logical_id
        assert props["TreatMissingData"] in ("ignore", "notBreaching"), logical_id
        assert isinstance(props["AlarmDescription"], str) and "To do:" in props["AlarmDescription"], logical_id
        assert len(props["AlarmDescription"]) <= 1024, logical_id
        assert props["EvaluationPeriods"] == 1 and props["DatapointsToAlarm"] == 1, logical_id


def test_drift_alarms(built) -> None:
    topic = _ref(built["stack"], built["topic"])
    alarms = _alarms(built["template"], "DriftPValue")
    assert {(_dims(a)["model"], _dims(a)["field"]) for a in alarms} == {(m, f) for m in MODELS for f in DRIFT_FIELDS}
    for alarm in alarms:
        assert alarm["Namespace"] == "Driftgate" and _dims(alarm)["service"] == "driftgate"
        assert alarm["Statistic"] == "Minimum" and alarm["Period"] == 3600
        # The check tests each field at alpha / number of fields (Bonferroni); the alarm agrees with it.
        assert alarm["Threshold"] == ALPHA / len(DRIFT_FIELDS) and alarm["ComparisonOperator"] == "LessThanThreshold"
        assert alarm["TreatMissingData"] == "ignore" and alarm["OKActions"] == [topic]


def test_quality_decay_alarms(built) -> None:
    topic = _ref(built["stack"], built["topic"])
    alarms = _alarms(built["template"], "QualityDelta")
    assert {_dims(a)["model"] for a in alarms} == set(MODELS)
    for alarm in alarms:
        assert alarm["Namespace"] == "Driftgate" and set(_dims(alarm)) == {"model", "service"}
        assert alarm["Statistic"] == "Maximum" and alarm["Period"] == 3600
        assert alarm["Threshold"] == THRESHOLD and alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["TreatMissingData"] == "ignore" and alarm["OKActions"] == [topic]


def test_pipeline_failure_alarm(built) -> None:
    (alarm,) = _alarms(built["template"], "ExecutionsFailed")
    assert alarm["Namespace"] == "AWS/States"
    assert _dims(alarm) == {"StateMachineArn": _ref(built["stack"], built["machine"])}
    assert alarm["Statistic"] == "Sum" and alarm["Period"] == 300
    assert alarm["Threshold"] == 1 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["TreatMissingData"] == "notBreaching" and "OKActions" not in alarm


def test_api_5xx_alarm(built) -> None:
    (alarm,) = _alarms(built["template"], "5XXError")
    assert alarm["Namespace"] == "AWS/ApiGateway" and set(_dims(alarm)) == {"ApiName", "Stage"}
    assert alarm["Statistic"] == "Sum" and alarm["Period"] == 300
    assert alarm["Threshold"] == 1 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["TreatMissingData"] == "notBreaching" and alarm["OKActions"] == [_ref(built["stack"], built["topic"])]


def test_lambda_error_alarm_per_function(built) -> None:
    alarms = _alarms(built["template"], "Errors")
    assert {json.dumps(_dims(a)["FunctionName"]) for a in alarms} == {
        json.dumps(_ref(built["stack"], f)) for f in built["functions"].values()}
    for alarm in alarms:
        assert alarm["Namespace"] == "AWS/Lambda" and alarm["Statistic"] == "Sum" and alarm["Period"] == 300
        assert alarm["Threshold"] == 1 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["TreatMissingData"] == "notBreaching" and "OKActions" not in alarm


# --- the key, and cdk-nag ------------------------------------------------------------------------------------------

def test_key_policy_lets_cloudwatch_alarms_use_the_topic_key(built) -> None:
    built["template"].has_resource_properties("AWS::KMS::Key", {"KeyPolicy": {"Statement": Match.array_with([
        {"Sid": "AllowCloudWatchAlarmsToPublishToEncryptedTopic", "Effect": "Allow",
         "Principal": {"Service": "cloudwatch.amazonaws.com"},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*"}])}})


def test_an_imported_key_is_reported_not_silently_skipped() -> None:
    stack = cdk.Stack(cdk.App(), "Imported")
    key = kms.Key.from_key_arn(
        stack, "Key", "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
    topic = sns.Topic(stack, "Topic", master_key=key)
    api = apigw.RestApi(stack, "Api")
    api.root.add_method("GET", apigw.MockIntegration())
    machine = sfn.StateMachine(stack, "Machine",
                               definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "P")))
    Monitoring(stack, "Monitoring", api=api, functions={}, state_machine=machine, topic=topic, key=key,
               models=(), drift_alpha=ALPHA, quality_decay_threshold=THRESHOLD)
    warnings = Annotations.from_stack(stack).find_warning(
        "/Imported/Monitoring", Match.string_like_regexp(".*cloudwatch.amazonaws.com.*"))
    assert len(warnings) == 1


def test_no_nag_findings(built) -> None:
    """The fixture's own findings are suppressed on those resources; the construct, key and topic get none."""
    annotations = Annotations.from_stack(built["stack"])
    findings = [*annotations.find_error("*", Match.string_like_regexp("AwsSolutions-.*")),
                *annotations.find_warning("*", Match.string_like_regexp("AwsSolutions-.*"))]
    assert findings == [], "\n".join(f"{f.id}: {f.entry.data}" for f in findings)


# --- the real stack -------------------------------------------------------------------------------------------

def test_real_stack_monitors_every_function_and_model(stack, template: Template) -> None:
    monitoring = next(c for c in stack.node.find_all() if isinstance(c, Monitoring))
    settings = stack.settings
    names = {*stack.tasks, "ApiHandler", "DriftCheck", "DriftDispatch"}
    assert {name.split(":", 1)[1] for name in monitoring.alarms if name.startswith("errors:")} == names
    assert {name.split(":", 1)[1].rsplit(":", 1)[0] for name in monitoring.alarms
            if name.startswith("drift:")} == set(settings.monitored_models)
    topic = {"Ref": stack.get_logical_id(stack.notifications.topic.node.default_child)}
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    assert len(alarms) == len(monitoring.alarms)
    assert all(a["Properties"]["AlarmActions"] == [topic] for a in alarms.values())
    assert all(a["Properties"]["Threshold"] == settings.drift_alpha / len(DRIFT_FIELDS) for a in alarms.values()
               if a["Properties"].get("MetricName") == "DriftPValue")
    template.has_resource_properties("AWS::KMS::Key", {"KeyPolicy": {"Statement": Match.array_with([
        Match.object_like({"Principal": {"Service": "cloudwatch.amazonaws.com"},
                           "Action": ["kms:Decrypt", "kms:GenerateDataKey*"]})])}})
