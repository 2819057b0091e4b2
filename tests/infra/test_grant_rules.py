"""Grants that moto cannot check, as rules over the synthesized template.

The local mode enforces IAM for the calls our code makes (``tests/local/test_iam_enforced.py``).
Two kinds of permission never reach moto's check: a service using a KMS key on the caller's
behalf (SNS, S3, DynamoDB encrypting with our key), and what the state machine's role needs for
each service integration before moto's interpreter even calls. Both are documented by AWS; these
rules check them on every principal and every task state of the template.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import pytest

from driftgate.local.intrinsics import Resolver


class SymbolicResolver(Resolver):
    """Resolves every resource to a symbol (``sym:<logical id>``), so that policies and the
    definition can be compared as strings; all ARN-like attributes of a resource are the same symbol."""

    def ref(self, name: str) -> Any:
        return self.pseudo()[name] if name in self.pseudo() else f"sym:{name}"

    def get_att(self, logical_id: str, attribute: str) -> Any:
        return f"sym:{logical_id}"


@dataclass(frozen=True)
class Statement:
    actions: tuple[str, ...]
    resources: tuple[str, ...]

    def allows(self, action: str, resource: str) -> bool:
        return (any(fnmatchcase(action.lower(), a.lower()) for a in self.actions)
                and any(fnmatchcase(resource, r) for r in self.resources))


def _as_tuple(value: Any) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, list) else (value,)


@pytest.fixture(scope="module")
def resolved(synthesized_template) -> dict[str, Any]:
    resolver = SymbolicResolver(region="eu-west-1", account="111111111111",
                                mappings=synthesized_template.get("Mappings", {}))
    return resolver.resolve(synthesized_template["Resources"])


@pytest.fixture(scope="module")
def policies(resolved) -> dict[str, list[Statement]]:
    """Allow statements of every role (its inline policies and the AWS::IAM::Policy resources on it)."""
    roles = {f"sym:{lid}": r for lid, r in resolved.items() if r["Type"] == "AWS::IAM::Role"}
    by_role: dict[str, list[Statement]] = {role: [] for role in roles}
    documents = [(role, p["PolicyDocument"]) for role, r in roles.items() for p in r["Properties"].get("Policies", [])]
    documents += [(role, r["Properties"]["PolicyDocument"]) for r in resolved.values()
                  if r["Type"] == "AWS::IAM::Policy" for role in r["Properties"]["Roles"]]
    for role, document in documents:
        by_role[role] += [Statement(_as_tuple(s["Action"]), _as_tuple(s["Resource"]))
                          for s in document["Statement"] if s["Effect"] == "Allow"]
    return by_role


def allowed(policies: dict[str, list[Statement]], role: str, action: str, resource: str) -> bool:
    return any(statement.allows(action, resource) for statement in policies[role])


def principals_allowed(policies: dict[str, list[Statement]], action: str, resource: str) -> list[str]:
    return [role for role in policies if allowed(policies, role, action, resource)]


def key_of(resource: dict[str, Any], *path: str) -> str | None:
    value: Any = resource["Properties"]
    for part in path:
        value = value[int(part)] if isinstance(value, list) else value.get(part) if isinstance(value, dict) else None
        if value is None:
            return None
    return value


def test_every_publisher_to_an_encrypted_topic_may_use_its_key(resolved, policies) -> None:
    topics = {f"sym:{lid}": key_of(r, "KmsMasterKeyId")
              for lid, r in resolved.items() if r["Type"] == "AWS::SNS::Topic"}
    assert topics and all(topics.values()), "every topic is encrypted with our key"
    checked = 0
    for topic, key in topics.items():
        for role in principals_allowed(policies, "sns:Publish", topic):
            checked += 1
            for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                assert allowed(policies, role, action, key), f"{role} publishes to {topic} but may not {action} {key}"
    assert checked >= 1  # the state machine's role publishes run outcomes


def test_alarms_publishing_to_the_encrypted_topic_may_use_its_key(resolved) -> None:
    """CloudWatch alarms publish as the cloudwatch.amazonaws.com service: the key policy must allow it."""
    alarms = [r for r in resolved.values()
              if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"].get("AlarmActions")]
    assert alarms
    keys = {f"sym:{lid}": r for lid, r in resolved.items() if r["Type"] == "AWS::KMS::Key"}
    topics = {f"sym:{lid}": r for lid, r in resolved.items() if r["Type"] == "AWS::SNS::Topic"}
    for alarm in alarms:
        for topic in alarm["Properties"]["AlarmActions"]:
            statements = keys[topics[topic]["Properties"]["KmsMasterKeyId"]]["Properties"]["KeyPolicy"]["Statement"]
            assert any(s["Effect"] == "Allow" and s.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com"
                       and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(_as_tuple(s["Action"])) for s in statements)


def test_every_writer_and_reader_of_an_encrypted_bucket_may_use_its_key(resolved, policies) -> None:
    buckets = {f"sym:{lid}": key_of(r, "BucketEncryption", "ServerSideEncryptionConfiguration", "0",
                                    "ServerSideEncryptionByDefault", "KMSMasterKeyID")
               for lid, r in resolved.items() if r["Type"] == "AWS::S3::Bucket"}
    encrypted = {bucket: key for bucket, key in buckets.items() if key}
    assert len(encrypted) == 2  # raw interactions and artifacts; the access-log bucket must use SSE-S3
    pairs = 0
    for bucket, key in encrypted.items():
        for s3_action, kms_action in (("s3:PutObject", "kms:GenerateDataKey"), ("s3:GetObject", "kms:Decrypt")):
            for role, statements in policies.items():
                if any(statement.allows(s3_action, resource) for statement in statements
                       for resource in statement.resources if resource.startswith(f"{bucket}/") or resource == "*"):
                    pairs += 1
                    assert allowed(policies, role, kms_action, key), \
                        f"{role}: {s3_action} on {bucket} needs {kms_action}"
    assert pairs >= 6


def test_every_user_of_an_encrypted_table_may_decrypt_with_its_key(resolved, policies) -> None:
    tables = {f"sym:{lid}": key_of(r, "SSESpecification", "KMSMasterKeyId")
              for lid, r in resolved.items() if r["Type"] == "AWS::DynamoDB::Table"}
    assert tables and all(tables.values())
    users = 0
    for table, key in tables.items():
        for role in set(principals_allowed(policies, "dynamodb:GetItem", table)
                        + principals_allowed(policies, "dynamodb:PutItem", table)):
            users += 1
            assert allowed(policies, role, "kms:Decrypt", key), f"{role} uses {table} but may not kms:Decrypt {key}"
    assert users >= 5


def _task_states(states: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, state in states.items():
        if state["Type"] == "Task":
            found.append((name, state))
        for branch in state.get("Branches", []) + ([state["Iterator"]] if "Iterator" in state else []):
            found += _task_states(branch["States"])
    return found


def integration_needs(state: dict[str, Any]) -> list[tuple[str, str]]:
    """What AWS documents the state machine role needs for one task state (Step Functions'
    "IAM policies for integrated services")."""
    resource, parameters = state["Resource"], state.get("Parameters", {})
    if resource.startswith("sym:") and "Function" in resource:  # a function ARN as the resource
        return [("lambda:InvokeFunction", resource)]
    if resource.startswith("arn:aws:states:::lambda:invoke"):
        return [("lambda:InvokeFunction", parameters["FunctionName"])]
    if resource == "arn:aws:states:::sns:publish":
        return [("sns:Publish", parameters["TopicArn"])]
    if resource == "arn:aws:states:::sagemaker:createTrainingJob.sync":
        job = "arn:aws:sagemaker:eu-west-1:111111111111:training-job/dg-train-0123"
        rule = "arn:aws:events:eu-west-1:111111111111:rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule"
        return [("sagemaker:CreateTrainingJob", job), ("sagemaker:DescribeTrainingJob", job),
                ("sagemaker:StopTrainingJob", job), ("sagemaker:AddTags", job),
                ("events:PutTargets", rule), ("events:PutRule", rule), ("events:DescribeRule", rule),
                ("iam:PassRole", parameters["RoleArn"])]
    raise AssertionError(f"no rule for the integration {resource}: add what AWS documents it needs")


def test_every_service_integration_is_allowed_by_the_state_machine_role(resolved, policies) -> None:
    (machine,) = [r for r in resolved.values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    role = machine["Properties"]["RoleArn"]
    tasks = _task_states(json.loads(machine["Properties"]["DefinitionString"])["States"])
    assert len(tasks) >= 10
    for name, state in tasks:
        for action, resource in integration_needs(state):
            assert allowed(policies, role, action, resource), \
                f"{name}: the state machine role may not {action} {resource}"


def test_the_rules_fail_on_a_missing_grant(resolved, policies) -> None:
    """The rules can fail: without the state machine role's key statement, the topic rule finds it."""
    (machine,) = [r for r in resolved.values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    role = machine["Properties"]["RoleArn"]
    stripped = {**policies, role: [s for s in policies[role] if not any(a.startswith("kms:") for a in s.actions)]}
    with pytest.raises(AssertionError, match="may not kms:GenerateDataKey"):
        test_every_publisher_to_an_encrypted_topic_may_use_its_key(resolved, stripped)
