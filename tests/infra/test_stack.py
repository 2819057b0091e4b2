"""The synthesized template holds each resource, configured as the README promises."""
from __future__ import annotations

import json

from aws_cdk.assertions import Match


def test_data_buckets_encrypted_with_kms_versioned_private_logged(template) -> None:
    template.has_resource_properties("AWS::S3::Bucket", {
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [
            {"BucketKeyEnabled": True, "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                                          "KMSMasterKeyID": Match.any_value()}}]},
        "VersioningConfiguration": {"Status": "Enabled"},
        "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                           "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
        "LoggingConfiguration": {"DestinationBucketName": Match.any_value(), "LogFilePrefix": "artifacts/"},
        "LifecycleConfiguration": {"Rules": Match.array_with([Match.object_like(
            {"NoncurrentVersionExpiration": {"NoncurrentDays": 90}})])},
    })
    template.has_resource_properties("AWS::S3::Bucket", {
        "LoggingConfiguration": {"DestinationBucketName": Match.any_value(), "LogFilePrefix": "rawinteractions/"},
        "LifecycleConfiguration": {"Rules": Match.array_with([Match.object_like(
            {"Prefix": "raw/", "ExpirationInDays": 45, "Transitions": Match.absent()})])},
    })


def test_every_bucket_denies_plain_http(template) -> None:
    buckets = template.find_resources("AWS::S3::Bucket")
    deny_http = Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
    policies = template.find_resources(
        "AWS::S3::BucketPolicy", {"Properties": {"PolicyDocument": {"Statement": Match.array_with([deny_http])}}})
    assert len(buckets) == 3 and len(policies) == 3


def test_tables_have_pitr_and_customer_managed_encryption(template) -> None:
    tables = template.find_resources("AWS::DynamoDB::Table", {"Properties": {
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": Match.any_value()},
        "BillingMode": "PAY_PER_REQUEST",
    }})
    assert len(tables) == 2
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_api_uses_iam_auth_validation_throttling_and_access_logs(template) -> None:
    methods = template.find_resources("AWS::ApiGateway::Method")
    assert methods and all(m["Properties"]["AuthorizationType"] == "AWS_IAM"
                           for m in methods.values() if m["Properties"]["HttpMethod"] != "OPTIONS")
    template.has_resource_properties("AWS::ApiGateway::Method", {
        "HttpMethod": "ANY", "AuthorizationType": "AWS_IAM", "RequestValidatorId": Match.any_value(),
        "Integration": {"Type": "AWS_PROXY"},
    })
    template.has_resource_properties("AWS::ApiGateway::RequestValidator",
                                     {"ValidateRequestBody": True, "ValidateRequestParameters": True})
    template.has_resource_properties("AWS::ApiGateway::Stage", {
        "TracingEnabled": True,
        "AccessLogSetting": {"DestinationArn": Match.any_value(), "Format": Match.any_value()},
        "MethodSettings": Match.array_with([Match.object_like(
            {"ThrottlingRateLimit": 50, "ThrottlingBurstLimit": 100, "MetricsEnabled": True})]),
    })
    template.has_resource_properties("AWS::WAFv2::WebACLAssociation", {"ResourceArn": Match.any_value()})


def test_functions_are_current_python_traced_and_bounded(template) -> None:
    functions = template.find_resources("AWS::Lambda::Function")
    assert len(functions) >= 8
    layers = {}
    for function in functions.values():
        props = function["Properties"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert 3 <= props["Timeout"] <= 900 and 128 <= props["MemorySize"] <= 3008
        assert props["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == "driftgate"
        assert "PackageType" not in props and props["Runtime"] == "python3.14"  # zip functions, no images
        layers[props["Handler"]] = len(props["Layers"])
    # The drift check adds the embedder's runtime and model layers to the dependency layer.
    assert layers.pop("functions.monitor.drift_check.lambda_handler") == 3
    assert set(layers.values()) == {1}


def test_function_roles_have_no_managed_policies(template) -> None:
    roles = template.find_resources("AWS::IAM::Role", {"Properties": {"AssumeRolePolicyDocument": {"Statement": [
        Match.object_like({"Principal": {"Service": "lambda.amazonaws.com"}})]}}})
    assert len(roles) >= 5
    assert all("ManagedPolicyArns" not in role["Properties"] for role in roles.values())


def test_state_machine_logs_all_traces_and_has_lambda_tasks_and_choice(template) -> None:
    template.has_resource_properties("AWS::StepFunctions::StateMachine", {
        "LoggingConfiguration": {"Level": "ALL", "IncludeExecutionData": True, "Destinations": Match.any_value()},
        "TracingConfiguration": {"Enabled": True},
    })
    definition = _definition(template)
    states = definition["States"]
    lambda_tasks = [n for n, s in states.items()
                    if s["Type"] == "Task" and s["Resource"].startswith(f"GetAtt:{n}Function")]
    assert {"PrepareDataset", "FinishRun", "RecordFailure"} <= set(lambda_tasks)
    assert any(s["Type"] == "Choice" for s in states.values())
    for name in ("PrepareDataset", "FinishRun"):
        assert states[name]["Catch"][0]["Next"] == "RecordFailure"
        assert states[name]["Retry"][0]["MaxAttempts"] == 3
        assert states[name]["TimeoutSeconds"] == 300
    assert states["RecordFailure"]["Next"] == "NotifyFailure" and states["NotifyFailure"]["Next"] == "Failed"
    assert "sns:publish" in str(states["NotifyFailure"]["Resource"])


def test_schedule_runs_the_drift_check_dispatcher(template) -> None:
    template.has_resource_properties("AWS::Events::Rule", {
        "ScheduleExpression": "rate(1 hour)",
        "Targets": [Match.object_like({"Arn": {"Fn::GetAtt": [Match.string_like_regexp("DriftDispatch"), "Arn"]},
                                       "RetryPolicy": {"MaximumRetryAttempts": 2}})],
    })
    # Its asynchronous invocations of the check retry as the schedule's did, and expire with the hour.
    template.has_resource_properties("AWS::Lambda::EventInvokeConfig", {
        "FunctionName": {"Ref": Match.string_like_regexp("DriftCheckFunction")},
        "MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600})


def test_topic_is_encrypted_and_tls_only(template) -> None:
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    template.has_resource_properties("AWS::SNS::TopicPolicy", {"PolicyDocument": {"Statement": Match.array_with([
        Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})])}})


def test_settings_come_from_context(tmp_path) -> None:
    from aws_cdk.assertions import Template

    from infra.app import STACK_NAME, build_app

    app = build_app({"aws:cdk:bundling-stacks": [], "driftgate:drift_schedule": "rate(15 minutes)",
                     "driftgate:api_rate_limit": "7", "driftgate:enable_waf": "false"}, outdir=str(tmp_path), nag=False)
    template = Template.from_stack(app.node.find_child(STACK_NAME))
    template.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "rate(15 minutes)"})
    template.has_resource_properties("AWS::ApiGateway::Stage", {"MethodSettings": Match.array_with([
        Match.object_like({"ThrottlingRateLimit": 7})])})
    template.resource_count_is("AWS::WAFv2::WebACL", 0)


def _definition(template) -> dict:

    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine").values()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    # Tokens (ARNs) sit inside JSON strings; a placeholder keeps the document parseable.
    def placeholder(token: dict) -> str:
        if "Fn::GetAtt" in token:
            return "GetAtt:" + ".".join(token["Fn::GetAtt"])
        return "Ref:" + str(token.get("Ref"))

    return json.loads("".join(p if isinstance(p, str) else placeholder(p) for p in parts))


def test_retrain_pipeline_states_retries_and_catches(template) -> None:
    states = _definition(template)["States"]
    order = ["PrepareDataset", "EnoughData?", "Train", "HasChampion?", "EvaluateVsChampion", "EvaluateVsBase",
             "Gate", "Register", "GatePassed?", "Promote", "FinishRun", "NotifyOutcome", "RecordFailure",
             "NotifyFailure", "Failed"]
    assert set(order) <= set(states)
    for name in ("PrepareDataset", "Train", "EvaluateVsChampion", "EvaluateVsBase", "Gate", "Register", "Promote",
                 "FinishRun"):
        assert states[name]["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordFailure"}]
        assert states[name]["Retry"] and states[name]["TimeoutSeconds"] > 0
    assert states["Train"]["Next"] == "HasChampion?" and states["Gate"]["Next"] == "Register"
    assert states["GatePassed?"]["Choices"][0]["Next"] == "StartCanary"  # rollout=canary, the default
    assert states["GatePassed?"]["Default"] == "GateRejected"


def test_the_canary_loops_wait_and_check_then_promotes_or_retires(template) -> None:
    definition = _definition(template)
    states = definition["States"]
    assert states["StartCanary"]["Next"] == "WaitForTraffic"
    assert states["WaitForTraffic"] == {"Type": "Wait", "Seconds": 900, "Next": "CheckCanary"}
    assert states["CheckCanary"]["Next"] == "CanaryDecided?"
    choices = {c["StringEquals"]: c["Next"] for c in states["CanaryDecided?"]["Choices"]}
    assert choices == {"continue": "WaitForTraffic", "promote": "Promote"}
    assert states["CanaryDecided?"]["Default"] == "RetireCanary" and states["RetireCanary"]["Next"] == "CanaryOutcome"
    for name in ("StartCanary", "CheckCanary", "RetireCanary"):
        assert states[name]["Catch"][0]["Next"] == "RecordFailure" and states[name]["Retry"]
    # Long enough for training, a week's approval and the canary's maximum of 168 hours.
    assert definition["TimeoutSeconds"] == (8 * 24 + 168) * 3600


def test_a_canary_longer_than_an_execution_history_holds_fails_the_synth() -> None:
    import pytest

    from infra.settings import Settings

    with pytest.raises(ValueError, match="120960 looks, more than the 2000"):
        Settings(canary_wait_seconds=5)
    assert Settings(canary_wait_seconds=5, rollout="direct").rollout == "direct"  # no loop, no limit
    assert Settings(canary_wait_seconds=5, canary_max_hours=2.5).canary_max_hours == 2.5


def test_rollout_direct_promotes_after_the_gate(tmp_path) -> None:
    from aws_cdk.assertions import Template

    from infra.app import STACK_NAME, build_app

    app = build_app({"aws:cdk:bundling-stacks": [], "driftgate:rollout": "direct",
                     "driftgate:canary_wait_seconds": "5"}, outdir=str(tmp_path), nag=False)
    template = Template.from_stack(app.node.find_child(STACK_NAME))
    states = _definition(template)["States"]
    assert states["GatePassed?"]["Choices"][0]["Next"] == "Promote"
    assert not {"StartCanary", "WaitForTraffic", "CheckCanary", "RetireCanary"} & set(states)
    handlers = {f["Properties"].get("Handler") for f in template.find_resources("AWS::Lambda::Function").values()}
    assert not {h for h in handlers if h and "canary" in h}


def test_training_jobs_are_sagemaker_sync_tasks_with_spot_and_encryption(template) -> None:
    states = _definition(template)["States"]
    train = states["Train"]
    assert train["Resource"].endswith(":states:::sagemaker:createTrainingJob.sync")
    request = train["Parameters"]
    assert request["HyperParameters"]["sagemaker_program"] == '"finetune/train.py"'
    assert request["EnableManagedSpotTraining"] is True
    assert request["StoppingCondition"]["MaxWaitTimeInSeconds"] >= request["StoppingCondition"]["MaxRuntimeInSeconds"]
    assert request["CheckpointConfig"]["LocalPath"] == "/opt/ml/checkpoints"
    assert request["ResourceConfig"]["InstanceType"] == "ml.g5.xlarge"
    # g5 volumes are local NVMe, encrypted by the instance: SageMaker rejects a VolumeKmsKeyId there.
    assert "KmsKeyId" in request["OutputDataConfig"] and "VolumeKmsKeyId" not in request["ResourceConfig"]
    assert [c["ChannelName"] for c in request["InputDataConfig"]] == ["train", "eval"]
    champion = states["EvaluateVsChampion"]["Parameters"]
    assert champion["HyperParameters"]["sagemaker_program"] == '"finetune/compare.py"'
    assert {c["ChannelName"] for c in champion["InputDataConfig"]} == {"challenger", "champion", "eval", "golden"}


def test_iam_for_sagemaker_and_step_functions(template) -> None:
    template.has_resource_properties("AWS::IAM::Role", {"AssumeRolePolicyDocument": {"Statement": [
        Match.object_like({"Principal": {"Service": "sagemaker.amazonaws.com"}})]}})
    policies = json.dumps(template.find_resources("AWS::IAM::Policy"))
    for action in ("sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob",
                   "events:PutRule", "iam:PassRole"):
        assert action in policies
    assert "training-job/dg-*" in policies
    assert "StepFunctionsGetEventsForSageMakerTrainingJobsRule" in policies


def test_manual_approval_waits_for_a_task_token(tmp_path) -> None:
    from aws_cdk.assertions import Template

    from infra.app import STACK_NAME, build_app

    app = build_app({"aws:cdk:bundling-stacks": [], "driftgate:approval_mode": "manual"}, outdir=str(tmp_path),
                    nag=False)
    states = _definition(Template.from_stack(app.node.find_child(STACK_NAME)))["States"]
    approval = states["RequestApproval"]
    assert approval["Resource"].endswith(":states:::lambda:invoke.waitForTaskToken")
    assert approval["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"
    # A person approves first; the canary then decides (rollout=canary, the default).
    assert states["GatePassed?"]["Choices"][0]["Next"] == "RequestApproval" and approval["Next"] == "StartCanary"
    assert approval["Catch"][0] == {"ErrorEquals": ["ApprovalRejected"], "ResultPath": "$.error",
                                    "Next": "ReviewerRejected"}
