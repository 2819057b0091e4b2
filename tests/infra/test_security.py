"""Security invariants of the synthesized template, each checked over every resource of its kind:
no anonymous API method, no wildcard action, '*' resources only where AWS has no ARN, TLS-only
KMS-encrypted buckets, tables on the stack's own key, and a logged, traced API stage.

``test_stack.py`` pins the configured values (throttling, lifecycle, ...); this module asserts the
properties that must hold for *all* resources, so a new bucket, table, route or grant is covered
without anyone remembering to add it here.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

# Actions AWS offers no resource-level permission for, so "Resource": "*" is the only form.
ACTIONS_WITHOUT_RESOURCE_ARNS = ("xray:", "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
                                 "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
                                 "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
                                 "ecr:GetAuthorizationToken", "cloudwatch:PutMetricData")
# Resource types whose policy documents are attached to the resource itself (Resource "*" = that resource).
RESOURCE_POLICY_TYPES = ("AWS::KMS::Key",)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_statements(template: Template) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(logical id, resource type, statement) of every policy document in the template: identity
    policies, role inline policies, bucket/topic/queue policies and key policies."""
    for logical_id, resource in template.to_json()["Resources"].items():
        props = resource.get("Properties", {})
        documents = [props[key] for key in ("PolicyDocument", "KeyPolicy") if key in props]
        documents += [policy["PolicyDocument"] for policy in props.get("Policies", [])]
        for document in documents:
            for statement in document["Statement"]:
                yield logical_id, resource["Type"], statement


def is_account_root_delegation(resource_type: str, statement: dict[str, Any]) -> bool:
    """The key policy statement that hands control of the key to the account's IAM ("kms:*" to
    ``arn:...:iam::<account>:root``): without it the key becomes unmanageable."""
    principal = statement.get("Principal", {}).get("AWS")
    parts = principal.get("Fn::Join", ["", []])[1] if isinstance(principal, dict) else []
    return (resource_type == "AWS::KMS::Key" and statement.get("Action") == "kms:*"
            and {"Ref": "AWS::AccountId"} in parts and ":root" in parts)


# --------------------------------------------------------------------------- API


def _resource_paths(resources: dict[str, Any], root_ref: dict[str, Any]) -> dict[str, str]:
    """logical id -> full path of each API Gateway resource, walked down from the root."""
    paths: dict[str, str] = {}
    pending = dict(resources)
    while pending:
        progressed = False
        for logical_id, resource in list(pending.items()):
            parent = resource["Properties"]["ParentId"]
            if parent == root_ref:
                base = ""
            elif isinstance(parent, dict) and parent.get("Ref") in paths:
                base = paths[parent["Ref"]]
            else:
                continue
            paths[logical_id] = f"{base}/{resource['Properties']['PathPart']}"
            del pending[logical_id]
            progressed = True
        assert progressed, f"API resources not reachable from the root: {sorted(pending)}"
    return paths


def handler_routes() -> list[str]:
    """Paths of the API handler's routes, read from the decorators of the resolver and its routers
    (``@app.get("/v1/...")``, ``@router.post("/v1/...")``; a path held in a constant is resolved
    from the module). Parsed, not imported: importing the handler here would fix its Powertools
    settings for the local-stack tests that run later in the same process."""
    api = Path(__file__).parents[2] / "functions" / "api"
    routes = []
    for path in [api / "app.py", *sorted((api / "routes").glob("*.py"))]:
        tree = ast.parse(path.read_text())
        constants = {t.id: n.value.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
                     for t in n.targets if isinstance(t, ast.Name) and isinstance(n.value, ast.Constant)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef):
                continue
            for decorator in node.decorator_list:
                if (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)
                        and isinstance(decorator.func.value, ast.Name) and decorator.func.value.id in ("app", "router")
                        and decorator.func.attr in ("get", "post", "put", "patch", "delete", "head", "route")):
                    first = decorator.args[0]
                    routes.append(first.value if isinstance(first, ast.Constant) else constants[first.id])
    return sorted(routes)


def test_every_api_method_requires_sigv4_and_covers_every_route(template: Template) -> None:
    (api_id,) = template.find_resources("AWS::ApiGateway::RestApi")
    resources = template.find_resources("AWS::ApiGateway::Resource")
    paths = _resource_paths(resources, {"Fn::GetAtt": [api_id, "RootResourceId"]})
    assert sorted(paths.values()) == ["/v1", "/v1/{proxy+}"]

    methods = template.find_resources("AWS::ApiGateway::Method")
    routed = {(paths[m["Properties"]["ResourceId"]["Ref"]], m["Properties"]["HttpMethod"]): m["Properties"]
              for m in methods.values() if isinstance(m["Properties"]["ResourceId"], dict)
              and "Ref" in m["Properties"]["ResourceId"]}
    # A method on the root resource (ResourceId = RootResourceId) would be missing from `routed`.
    assert len(routed) == len(methods) == 1
    assert set(routed) == {("/v1/{proxy+}", "ANY")}
    for (path, verb), props in routed.items():
        if verb != "OPTIONS":  # CORS preflight is the only method browsers send unsigned
            assert props["AuthorizationType"] == "AWS_IAM", (path, verb)
            assert "AuthorizerId" not in props and props.get("ApiKeyRequired") in (None, False)

    # Every route the handler serves sits under /v1/, so the one signed proxy method fronts it.
    routes = handler_routes()
    assert len(routes) >= 10 and all(route.startswith("/v1/") for route in routes), routes


def test_only_the_api_and_the_schedule_may_invoke_functions(template: Template) -> None:
    """Each Lambda permission names one service principal and the one API or rule it trusts."""
    (api_id,) = template.find_resources("AWS::ApiGateway::RestApi")
    rules = template.find_resources("AWS::Events::Rule")
    permissions = template.find_resources("AWS::Lambda::Permission")
    assert permissions
    for logical_id, permission in permissions.items():
        props = permission["Properties"]
        assert props["Action"] == "lambda:InvokeFunction", logical_id
        if props["Principal"] == "apigateway.amazonaws.com":
            parts = props["SourceArn"]["Fn::Join"][1]
            assert {"Ref": api_id} in parts and str(parts[-1]).endswith("/v1/*"), (logical_id, parts)
        else:
            assert props["Principal"] == "events.amazonaws.com", logical_id
            assert props["SourceArn"]["Fn::GetAtt"][0] in rules, logical_id


def test_api_stage_is_logged_traced_and_never_logs_bodies(template: Template) -> None:
    log_groups = template.find_resources("AWS::Logs::LogGroup")
    stages = template.find_resources("AWS::ApiGateway::Stage")
    assert len(stages) == 1
    for stage in stages.values():
        props = stage["Properties"]
        assert props["TracingEnabled"] is True
        (destination, attribute) = props["AccessLogSetting"]["DestinationArn"]["Fn::GetAtt"]
        assert attribute == "Arn" and log_groups[destination]["Properties"]["RetentionInDays"] > 0
        for field in ("$context.requestId", "$context.identity.caller", "$context.identity.user", "$context.status"):
            assert field in props["AccessLogSetting"]["Format"], field
        assert props["MethodSettings"]
        for setting in props["MethodSettings"]:
            assert setting["LoggingLevel"] in ("ERROR", "INFO")
            # Data trace writes full request/response bodies (prompts, outputs, PII) to logs.
            assert setting.get("DataTraceEnabled") is False


# --------------------------------------------------------------------------- IAM


def test_no_allow_statement_grants_a_wildcard_action(template: Template) -> None:
    statements = list(policy_statements(template))
    allows = [(lid, rtype, s) for lid, rtype, s in statements if s["Effect"] == "Allow"]
    assert len(allows) >= 40
    # NotAction/NotResource in an Allow grant everything except a list: wildcards in disguise.
    assert not [lid for lid, _, s in allows if "NotAction" in s or "NotResource" in s]
    delegations = [lid for lid, rtype, s in allows if is_account_root_delegation(rtype, s)]
    assert len(delegations) == 1  # the key policy, see is_account_root_delegation
    for logical_id, resource_type, statement in allows:
        if is_account_root_delegation(resource_type, statement):
            continue
        actions = _as_list(statement["Action"])
        # "svc:Get*" prefixes are fine (nag-suppressed, reasoned); "*" and "svc:*" are not.
        assert not any(a == "*" or a.endswith(":*") for a in actions), (logical_id, actions)


def test_wildcard_resources_only_for_actions_without_resource_arns(template: Template) -> None:
    """The IAM5 'Resource::*' suppression in infra/nag.py is only true while this holds."""
    checked = 0
    for logical_id, resource_type, statement in policy_statements(template):
        if statement["Effect"] != "Allow" or resource_type in RESOURCE_POLICY_TYPES:
            continue
        checked += 1
        if "*" not in _as_list(statement.get("Resource")):
            continue
        actions = _as_list(statement["Action"])
        assert all(a.startswith(ACTIONS_WITHOUT_RESOURCE_ARNS) for a in actions), (logical_id, actions)
        if "cloudwatch:PutMetricData" in actions:  # only into SageMaker's own namespaces
            assert statement["Condition"] == {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}}
    assert checked >= 40


def test_no_role_can_be_assumed_by_anyone_but_an_aws_service(template: Template) -> None:
    roles = template.find_resources("AWS::IAM::Role")
    assert roles
    for logical_id, role in roles.items():
        for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRole"
            assert set(statement["Principal"]) == {"Service"}, logical_id
            assert str(statement["Principal"]["Service"]).endswith(".amazonaws.com"), logical_id


# --------------------------------------------------------------------------- data at rest and in transit


def _customer_key(template: Template) -> str:
    keys = template.find_resources("AWS::KMS::Key", {"Properties": {"EnableKeyRotation": True}})
    assert len(keys) == 1
    return next(iter(keys))


@pytest.fixture(scope="module")
def buckets(template: Template) -> dict[str, Any]:
    found = template.find_resources("AWS::S3::Bucket")
    assert len(found) >= 3
    return found


def _log_targets(buckets: dict[str, Any]) -> set[str]:
    return {b["Properties"]["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
            for b in buckets.values() if "LoggingConfiguration" in b["Properties"]}


def test_data_buckets_use_the_stack_key_and_only_the_access_log_bucket_does_not(template: Template,
                                                                                buckets: dict[str, Any]) -> None:
    key = _customer_key(template)
    log_targets = _log_targets(buckets)
    # S3 cannot deliver server access logs into an SSE-KMS bucket: that one bucket is SSE-S3.
    assert len(log_targets) == 1
    for logical_id, bucket in buckets.items():
        (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        default = rule["ServerSideEncryptionByDefault"]
        if logical_id in log_targets:
            assert default == {"SSEAlgorithm": "AES256"}
            assert "LoggingConfiguration" not in bucket["Properties"]
        else:
            assert default == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": [key, "Arn"]}}, logical_id
            logging = bucket["Properties"]["LoggingConfiguration"]
            assert logging["DestinationBucketName"] == {"Ref": next(iter(log_targets))}


def test_each_bucket_has_its_own_policy_denying_plain_http_on_bucket_and_objects(template: Template,
                                                                                 buckets: dict[str, Any]) -> None:
    denied: dict[str, list[str]] = {}
    for policy in template.find_resources("AWS::S3::BucketPolicy").values():
        bucket = policy["Properties"]["Bucket"]["Ref"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}:
                assert statement["Effect"] == "Deny" and statement["Action"] == "s3:*"
                assert statement["Principal"] == {"AWS": "*"}
                denied[bucket] = [str(r) for r in statement["Resource"]]
    assert set(denied) == set(buckets)
    for bucket, resources in denied.items():
        assert any(bucket in r and "/*" not in r for r in resources), (bucket, resources)  # the bucket
        assert any(bucket in r and "/*" in r for r in resources), (bucket, resources)  # its objects


def test_tables_and_topic_are_encrypted_with_the_stack_key(template: Template) -> None:
    key_arn = {"Fn::GetAtt": [_customer_key(template), "Arn"]}
    tables = template.find_resources("AWS::DynamoDB::Table")
    assert tables
    for logical_id, table in tables.items():
        # SSEType KMS without a key id would be the AWS-managed aws/dynamodb key.
        assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS",
                                                           "KMSMasterKeyId": key_arn}, logical_id
    for logical_id, topic in template.find_resources("AWS::SNS::Topic").items():
        assert topic["Properties"]["KmsMasterKeyId"] == key_arn, logical_id
