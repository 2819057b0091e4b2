"""cdk-nag's AwsSolutions pack over the whole stack: no unsuppressed finding, every suppression reasoned."""
from __future__ import annotations

from aws_cdk.assertions import Annotations, Match

from infra.nag import STACK_WIDE


def test_no_unsuppressed_awssolutions_errors(stack) -> None:
    errors = Annotations.from_stack(stack).find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert errors == [], "\n".join(f"{e.id}: {e.entry.data}" for e in errors)


def test_no_unsuppressed_awssolutions_warnings(stack) -> None:
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert warnings == [], "\n".join(f"{w.id}: {w.entry.data}" for w in warnings)


def test_every_suppression_has_a_written_reason() -> None:
    for suppression in STACK_WIDE:
        assert len(suppression.reason.split()) >= 10, suppression.id


def test_wildcard_resources_only_for_actions_without_resource_arns(template) -> None:
    """The IAM5 'Resource::*' suppression is only true while '*' is limited to X-Ray and log delivery."""
    allowed_prefixes = ("xray:", "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
                        "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
                        "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
                        "ecr:GetAuthorizationToken", "cloudwatch:PutMetricData")
    for logical_id, policy in template.find_resources("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Resource") != "*":
                continue
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert all(a.startswith(allowed_prefixes) for a in actions), (logical_id, actions)
            if "cloudwatch:PutMetricData" in actions:  # only into SageMaker's own namespaces
                assert statement["Condition"] == {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}}


def test_no_wildcard_actions(template) -> None:
    for logical_id, policy in template.find_resources("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert "*" not in actions and not any(a.endswith(":*") for a in actions), (logical_id, actions)
