"""Deploys the synthesized template into moto and gives the local stack's entry points:
the API (as API Gateway proxy events), the schedule, and the state machine."""
from __future__ import annotations

import base64
import io
import json
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto import mock_aws

from driftgate.local import async_invocations
from driftgate.local.atomicity import atomic_dynamodb
from driftgate.local.dispatch import (
    Dispatcher,
    LocalFunction,
    function_environment,
    patched_environ,
)
from driftgate.local.faults import Faults
from driftgate.local.iam import Identities
from driftgate.local.intrinsics import Resolver, UnresolvedReference
from driftgate.local.sagemaker import LocalSageMaker
from driftgate.local.secrets import create_secret
from driftgate.local.template import synthesize
from driftgate.paths import embedding_cache, embedding_model
from functions.common.contract import Settings as HandlerSettings

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
# Handlers run locally without an X-Ray daemon; their EMF metrics are collected by the dispatcher.
LOCAL_ENVIRONMENT = {"POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"}


def local_environment() -> dict[str, str]:
    """What every handler's environment gets on this machine, over the template's: the above, the
    drift check's embeddings cached where the CLI and the tests cache theirs, and its embedding model
    read from the export cache (the folder ``cdk synth`` bundles into the model layer)."""
    return {**LOCAL_ENVIRONMENT, **HandlerSettings.environment(embedding_cache_dir=str(embedding_cache()),
                                                               embedding_model_dir=str(embedding_model()))}
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


@dataclass
class ExecutionResult:
    arn: str
    status: str
    states: list[str]
    output: Any
    error: str | None = None
    cause: str | None = None


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class LocalDeployment:
    """The stack's resources in moto; use inside :func:`local_stack` (which starts moto)."""

    template: dict[str, Any]
    dispatcher: Dispatcher = field(init=False)
    sagemaker: LocalSageMaker = field(init=False)
    faults: Faults = field(init=False)
    resolver: Resolver = field(init=False)
    identities: Identities = field(init=False)
    physical: dict[str, str] = field(default_factory=dict)
    rules: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.resolver = Resolver(region=REGION, account=ACCOUNT, mappings=self.template.get("Mappings", {}))
        self.identities = Identities(account=ACCOUNT, region=REGION)
        self.dispatcher = Dispatcher(REGION, local_environment(), self.identities)
        self.sagemaker = LocalSageMaker(REGION, ACCOUNT, self.identities)
        self.faults = Faults(self.dispatcher, REGION)
        self.sagemaker.crash = self.faults.should_crash
        self._suffix = uuid.uuid4().hex[:8]

    # -- deployment ------------------------------------------------------------------------
    def deploy(self) -> LocalDeployment:
        creators: dict[str, Callable[[str, dict[str, Any]], None]] = {
            "AWS::KMS::Key": self._kms_key,
            "AWS::IAM::Role": self._iam_role,
            "AWS::IAM::Policy": self._iam_policy,
            "AWS::S3::Bucket": self._bucket,
            "AWS::DynamoDB::Table": self._table,
            "AWS::SNS::Topic": self._topic,
            "AWS::Logs::LogGroup": self._log_group,
            "AWS::Lambda::LayerVersion": self._layer,
            "AWS::Lambda::Function": self._function,
            "AWS::StepFunctions::StateMachine": self._state_machine,
            "AWS::Events::Rule": self._rule,
            "AWS::SecretsManager::Secret": lambda lid, props: self._set(lid, create_secret(
                REGION, self._name(lid, 256), props)),
        }
        pending = {lid: r for lid, r in self.template["Resources"].items() if r["Type"] in creators}
        # Create in dependency order by retrying what still references something not created.
        while pending:
            progressed = False
            for logical_id, resource in list(pending.items()):
                try:
                    creators[resource["Type"]](logical_id, self.resolver.resolve(resource.get("Properties", {})))
                except UnresolvedReference:
                    continue
                del pending[logical_id]
                progressed = True
            if not progressed:
                raise RuntimeError(f"cannot resolve references of {sorted(pending)}")
        return self

    def _name(self, logical_id: str, limit: int = 63) -> str:
        return f"{logical_id[: limit - 9]}-{self._suffix}".lower()

    def _set(self, logical_id: str, ref: str, **attributes: str) -> None:
        self.physical[logical_id] = ref
        self.resolver.refs[logical_id] = ref
        for name, value in attributes.items():
            self.resolver.attributes[(logical_id, name)] = value

    def _kms_key(self, logical_id: str, props: dict[str, Any]) -> None:
        key = boto3.client("kms", region_name=REGION).create_key(Description=props.get("Description", ""))
        self._set(logical_id, key["KeyMetadata"]["KeyId"], Arn=key["KeyMetadata"]["Arn"])

    def _iam_role(self, logical_id: str, props: dict[str, Any]) -> None:
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(
            RoleName=self._name(logical_id, 64),
            AssumeRolePolicyDocument=json.dumps(props["AssumeRolePolicyDocument"]),
        )["Role"]
        for policy in props.get("Policies", []):
            iam.put_role_policy(RoleName=role["RoleName"], PolicyName=policy["PolicyName"],
                                PolicyDocument=json.dumps(policy["PolicyDocument"]))
        # AWS-managed policies are not in moto; the only role with one (API Gateway's account
        # logging role) is assumed by a service the local mode does not run.
        self._set(logical_id, role["RoleName"], Arn=role["Arn"])

    def _iam_policy(self, logical_id: str, props: dict[str, Any]) -> None:
        iam = boto3.client("iam", region_name=REGION)
        for role in props.get("Roles", []):
            iam.put_role_policy(RoleName=role, PolicyName=props["PolicyName"],
                                PolicyDocument=json.dumps(props["PolicyDocument"]))
        self._set(logical_id, props["PolicyName"])

    def _bucket(self, logical_id: str, props: dict[str, Any]) -> None:
        s3 = boto3.client("s3", region_name=REGION)
        name = self._name(logical_id)
        s3.create_bucket(Bucket=name)
        if props.get("VersioningConfiguration", {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        for rule in props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", []):
            # CloudFormation and the S3 API spell the same setting differently.
            default = {k: v for k, v in rule["ServerSideEncryptionByDefault"].items() if k != "KMSMasterKeyID"}
            if "KMSMasterKeyID" in rule["ServerSideEncryptionByDefault"]:
                default["KMSMasterKeyID"] = rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{
                "ApplyServerSideEncryptionByDefault": default,
                "BucketKeyEnabled": rule.get("BucketKeyEnabled", False)}]})
        self._set(logical_id, name, Arn=f"arn:aws:s3:::{name}", DomainName=f"{name}.s3.amazonaws.com")

    def _table(self, logical_id: str, props: dict[str, Any]) -> None:
        name = self._name(logical_id, 255)
        kwargs: dict[str, Any] = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        table = boto3.client("dynamodb", region_name=REGION).create_table(**kwargs)["TableDescription"]
        self._set(logical_id, name, Arn=table["TableArn"], StreamArn="")

    def _topic(self, logical_id: str, props: dict[str, Any]) -> None:
        arn = boto3.client("sns", region_name=REGION).create_topic(Name=self._name(logical_id, 256))["TopicArn"]
        self._set(logical_id, arn, TopicArn=arn, TopicName=arn.rsplit(":", 1)[-1])

    def _log_group(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("LogGroupName") or f"/driftgate/{self._name(logical_id, 200)}"
        boto3.client("logs", region_name=REGION).create_log_group(logGroupName=name)
        self._set(logical_id, name, Arn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*")

    def _layer(self, logical_id: str, props: dict[str, Any]) -> None:
        # The layer holds third-party wheels for Lambda; locally the venv provides them.
        self._set(logical_id, f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:{logical_id}:1")

    def _function(self, logical_id: str, props: dict[str, Any]) -> None:
        name = self._name(logical_id, 64)
        environment = props.get("Environment", {}).get("Variables", {})
        # A container-image function names its handler in the image command.
        handler = props.get("Handler") or props["ImageConfig"]["Command"][0]
        created = boto3.client("lambda", region_name=REGION).create_function(
            FunctionName=name,
            Runtime=props.get("Runtime", "python3.13"),
            Role=props["Role"],
            Handler=handler,
            Code={"ZipFile": _placeholder_zip()},
            Timeout=props.get("Timeout", 3),
            MemorySize=props.get("MemorySize", 128),
            Environment={"Variables": environment},
        )
        self._set(logical_id, name, Arn=created["FunctionArn"])
        self.dispatcher.add(LocalFunction(
            logical_id=logical_id, name=name, arn=created["FunctionArn"], handler=handler, role_arn=props["Role"],
            environment=environment, timeout_s=props.get("Timeout", 3), memory_mb=props.get("MemorySize", 128),
        ))

    def _state_machine(self, logical_id: str, props: dict[str, Any]) -> None:
        arn = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
            name=self._name(logical_id, 80), definition=props["DefinitionString"], roleArn=props["RoleArn"],
        )["stateMachineArn"]
        if self.identities.state_machine_role not in (None, props["RoleArn"]):
            raise ValueError("the local mode signs moto's Step Functions calls as one role: one state machine role")
        self.identities.state_machine_role = props["RoleArn"]
        self._set(logical_id, arn, Name=arn.rsplit(":", 1)[-1])

    def _rule(self, logical_id: str, props: dict[str, Any]) -> None:
        name = self._name(logical_id, 64)
        boto3.client("events", region_name=REGION).put_rule(
            Name=name, ScheduleExpression=props["ScheduleExpression"], State=props.get("State", "ENABLED"))
        self.rules.append({"name": name, "targets": props.get("Targets", [])})
        self._set(logical_id, name, Arn=f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}")

    # -- lookups ---------------------------------------------------------------------------
    def resources_of_type(self, resource_type: str) -> dict[str, str]:
        return {lid: self.physical[lid] for lid, r in self.template["Resources"].items()
                if r["Type"] == resource_type and lid in self.physical}

    def find(self, resource_type: str, logical_prefix: str) -> str:
        matches = [p for lid, p in self.resources_of_type(resource_type).items() if lid.startswith(logical_prefix)]
        if len(matches) != 1:
            raise LookupError(f"expected one {resource_type} named {logical_prefix}*, found {len(matches)}")
        return matches[0]

    def function(self, logical_prefix: str) -> LocalFunction:
        return self.dispatcher.lookup(self.find("AWS::Lambda::Function", logical_prefix))

    def environment(self, logical_prefix: str):
        """A context in which code of ours sees a function's environment (tables, buckets), as
        its handler does: for tests and tools that call our libraries directly. Handlers started
        meanwhile in other threads wait until the block ends (the environment is process-wide),
        so do not wait for an execution inside it."""
        return function_environment({**self.function(logical_prefix).environment, "AWS_REGION": REGION,
                                     "AWS_DEFAULT_REGION": REGION})

    @property
    def state_machine_arn(self) -> str:
        return self.find("AWS::StepFunctions::StateMachine", "Retrain")

    # -- entry points ----------------------------------------------------------------------
    def invoke(self, logical_prefix: str, event: Any) -> Any:
        """Invokes a function through moto's Lambda API (so it takes the same path as AWS)."""
        response = boto3.client("lambda", region_name=REGION).invoke(
            FunctionName=self.function(logical_prefix).name, Payload=json.dumps(event).encode())
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            raise RuntimeError(f"{logical_prefix} failed: {payload.get('errorType')}: {payload.get('errorMessage')}")
        return payload

    def api(self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None,
            query: dict[str, str] | None = None, raw_body: str | bytes | None = None) -> ApiResponse:
        """Sends a request the way API Gateway's Lambda proxy integration would."""
        event = proxy_event(method, path, body=body, headers=headers, query=query, raw_body=raw_body)
        result = self.invoke("ApiHandler", event)
        # A REST resolver answers with multiValueHeaders; API Gateway merges both forms.
        multi = {name: ", ".join(values) for name, values in (result.get("multiValueHeaders") or {}).items()}
        return ApiResponse(result["statusCode"], {**(result.get("headers") or {}), **multi}, _response_body(result))

    def fire_schedule(self) -> list[dict[str, Any]]:
        """Delivers one scheduled event to every target of every schedule rule. Each answer is the
        target's (the drift check's dispatcher: ``dispatched``, ``without_baseline``) with
        ``checks``: what the one-model checks it invoked asynchronously answered, which run at once
        in this process (:mod:`driftgate.local.async_invocations`). A failed check raises."""
        results = []
        for rule in self.rules:
            for target in rule["targets"]:
                event = {"source": "aws.events", "detail-type": "Scheduled Event", "resources": [rule["name"]],
                         **json.loads(target.get("Input", "{}"))}
                with async_invocations.recording(self.dispatcher) as started:
                    answer = self.invoke(self.dispatcher.lookup(target["Arn"]).logical_id, event)
                if failed := [s for s in started if s.failed]:
                    raise RuntimeError(f"{failed[0].logical_id} failed for {failed[0].event}: {failed[0].answer}")
                results.append({**answer, "checks": [s.answer for s in started]})
        return results

    def start_execution(self, execution_input: dict[str, Any], name: str | None = None) -> str:
        return boto3.client("stepfunctions", region_name=REGION).start_execution(
            stateMachineArn=self.state_machine_arn, name=name or f"local-{uuid.uuid4().hex[:12]}",
            input=json.dumps(execution_input),
        )["executionArn"]

    def wait(self, execution_arn: str, timeout_s: float = 600,
             on_state: Callable[[str], None] | None = None) -> ExecutionResult:
        """Polls until the execution ends, reporting each state as it is entered."""
        sfn = boto3.client("stepfunctions", region_name=REGION)
        seen: list[str] = []
        deadline = time.monotonic() + timeout_s
        while True:
            described = sfn.describe_execution(executionArn=execution_arn)
            for state in _entered_states(sfn, execution_arn)[len(seen):]:
                seen.append(state)
                if on_state:
                    on_state(state)
            if described["status"] in TERMINAL:
                return ExecutionResult(
                    arn=execution_arn, status=described["status"], states=seen,
                    output=json.loads(described["output"]) if described.get("output") else None,
                    error=described.get("error"), cause=described.get("cause"),
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {execution_arn} still {described['status']} after {timeout_s}s")
            time.sleep(0.05)

    def run(self, execution_input: dict[str, Any], **kwargs: Any) -> ExecutionResult:
        return self.wait(self.start_execution(execution_input), **kwargs)


@contextmanager
def local_stack(template: dict[str, Any] | None = None,
                context: dict[str, Any] | None = None) -> Iterator[LocalDeployment]:
    """Starts moto, deploys the stack (synthesized unless a template is given) and dispatches
    Lambda invocations to the real handlers until the block ends. IAM is enforced: each handler
    signs as its function's role (see :mod:`driftgate.local.iam`)."""
    template = template or synthesize(context)
    # The region is ours to choose (clients made outside handlers need it).
    with mock_aws(config=MOTO_CONFIG), atomic_dynamodb(), patched_environ({"AWS_DEFAULT_REGION": REGION}):
        deployment = LocalDeployment(template)
        deployment.identities.start()
        deployment.dispatcher.start()
        deployment.sagemaker.start()
        try:
            yield deployment.deploy()
        finally:
            deployment.faults.clear()
            deployment.sagemaker.stop()
            deployment.dispatcher.stop()
            deployment.identities.stop()


def proxy_event(method: str, path: str, *, body: Any = None, headers: dict[str, str] | None = None,
                query: dict[str, str] | None = None, raw_body: str | bytes | None = None) -> dict[str, Any]:
    """An API Gateway REST (v1) Lambda proxy event for ``/v1/{proxy+}``."""
    if raw_body is None and body is not None:
        raw_body = json.dumps(body)
    is_base64 = isinstance(raw_body, bytes)
    encoded = base64.b64encode(raw_body).decode() if isinstance(raw_body, bytes) else raw_body
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return {
        "resource": "/v1/{proxy+}",
        "path": path,
        "httpMethod": method.upper(),
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": {"proxy": path.removeprefix("/v1/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/v1/{proxy+}", "httpMethod": method.upper(), "path": f"/prod{path}",
            "stage": "prod", "requestId": str(uuid.uuid4()), "accountId": ACCOUNT,
            "identity": {"sourceIp": "127.0.0.1", "userArn": f"arn:aws:iam::{ACCOUNT}:user/local"},
        },
        "body": encoded,
        "isBase64Encoded": is_base64,
    }


def _response_body(result: dict[str, Any]) -> str:
    body = result.get("body") or ""
    return base64.b64decode(body).decode() if result.get("isBase64Encoded") else body


def _entered_states(sfn: Any, execution_arn: str) -> list[str]:
    events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def _placeholder_zip() -> bytes:
    # moto stores a code package; invocations never run it (the dispatcher calls our handler).
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "driftgate local mode: handlers run in-process from the checkout")
    return buffer.getvalue()
