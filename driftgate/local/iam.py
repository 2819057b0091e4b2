"""IAM enforced in the local mode, with the template's own roles and policies.

Each role of the template is created in moto with its policies, and every caller signs as the
identity AWS would give it:
- a handler, as its function's role (assumed through moto's STS, as the Lambda service does);
- moto's Step Functions interpreter, as the state machine's role (it signs with the literal key
  ``ak``, which is how its clients are told apart);
- a local training job's data access, as the job's ``RoleArn``;
- everything else (tests, the CLI, the deployment itself), as a local operator with full access.

moto's IAM access control then checks each request against those policies. moto only knows the
resource of S3 requests; for the services our handlers and the state machine call, the resource
(and the IAM action, where it differs from the operation's name) is derived here from the
request, so a statement scoped to another table, topic or function does not allow it. What moto
cannot see at all (a service using a KMS key on the caller's behalf) is checked by rule tests on
the template instead (``tests/infra/test_grant_rules.py``).
"""
from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock
from urllib.parse import unquote, urlparse

from botocore.credentials import Credentials
from botocore.signers import RequestSigner
from moto import settings as moto_settings
from moto.core.authorization import ActionAuthenticatorMixin, enable_iam_authentication
from moto.iam.access_control import (
    IAMPolicy,
    IAMPolicyStatement,
    IAMRequest,
    PermissionResult,
)
from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

OPERATOR = "driftgate-local-operator"
# moto's Step Functions interpreter builds every client with this access key (asl/utils/boto_client.py).
INTERPRETER_KEY = "ak"
# Operations whose IAM action is not named like the operation.
IAM_ACTIONS = {("lambda", "Invoke"): "InvokeFunction"}
# TransactWriteItems is authorized per item, with the item's own action.
TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                    "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}

_original_get_auth_instance = RequestSigner.get_auth_instance
_original_submit = ThreadPoolExecutor.submit


@dataclass(frozen=True)
class Identity:
    arn: str
    credentials: Credentials


@dataclass(frozen=True)
class Check:
    """One authorization AWS makes for a request: ``action`` on ``resource`` (None: AWS offers no
    resource-level permission for it, or the local mode cannot tell; then the action alone is checked)."""

    action: str
    resource: str | None


class Identities:
    """The local stack's principals and the patches that make each request sign as one."""

    def __init__(self, *, account: str, region: str) -> None:
        self.account = account
        self.region = region
        self.operator: Identity | None = None
        self.state_machine_role: str | None = None
        self._assumed: dict[str, Identity] = {}
        self._known_keys: set[str] = set()
        self._local = threading.local()
        self._stack = ExitStack()

    # -- principals ------------------------------------------------------------------------
    def start(self) -> None:
        """Creates the operator, then switches moto's access control on (inside ``mock_aws``)."""
        iam = iam_backends[self.account]["aws"]
        user = iam.create_user(region_name=self.region, user_name=OPERATOR, path="/", tags=[])
        iam.put_user_policy(OPERATOR, "everything", json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        key = iam.create_access_key(OPERATOR)
        self.operator = self._identity(user.arn, Credentials(key.access_key_id, key.secret_access_key))
        self._stack.enter_context(mock.patch.object(RequestSigner, "get_auth_instance", new=self._get_auth_instance()))
        self._stack.enter_context(mock.patch.object(
            ActionAuthenticatorMixin, "_authenticate_and_authorize_normal_action", new=_authorize))
        self._stack.enter_context(enable_iam_authentication())
        self._stack.enter_context(mock.patch.object(ThreadPoolExecutor, "submit", new=self._submit_as_caller()))

    def stop(self) -> None:
        self._stack.close()

    def role(self, role_arn: str, session: str = "local") -> Identity:
        """Credentials of ``role_arn``, assumed as its service would (no caller identity involved)."""
        if role_arn not in self._assumed:
            assumed = sts_backends[self.account]["aws"].assume_role(
                region_name=self.region, role_session_name=session, role_arn=role_arn,
                policy="", duration=3600, external_id="")
            self._assumed[role_arn] = self._identity(assumed.arn, Credentials(
                assumed.access_key_id, assumed.secret_access_key, assumed.session_token))
        return self._assumed[role_arn]

    def _identity(self, arn: str, credentials: Credentials) -> Identity:
        self._known_keys.add(credentials.access_key)
        return Identity(arn, credentials)

    @contextmanager
    def acting_as(self, identity: Identity) -> Iterator[None]:
        """Requests this thread signs inside the block are that identity's (nested blocks stack)."""
        stack = self._stack_of_thread()
        stack.append(identity)
        try:
            yield
        finally:
            stack.pop()

    def _submit_as_caller(self) -> Callable[..., Any]:
        """A thread pool's task signs as whoever submitted it. In Lambda the role's credentials are
        process-wide, so a handler's worker threads (parallel S3 reads, boto3's upload threads) sign
        as its role; here identities are per thread, and without this they fell back to the operator,
        so a missing grant went unseen."""
        identities = self

        def submit(executor: ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
            caller = identities.current()
            if caller is None:
                return _original_submit(executor, fn, *args, **kwargs)

            def as_caller() -> Any:
                with identities.acting_as(caller):
                    return fn(*args, **kwargs)
            return _original_submit(executor, as_caller)
        return submit

    def current(self) -> Identity | None:
        stack = self._stack_of_thread()
        return stack[-1] if stack else None

    def _stack_of_thread(self) -> list[Identity]:
        if not hasattr(self._local, "stack"):
            self._local.stack = []
        return self._local.stack

    # -- signing ---------------------------------------------------------------------------
    def credentials_for(self, client_credentials: Credentials | None) -> Credentials | None:
        """Whose credentials sign a request made with a client holding ``client_credentials``."""
        access_key = client_credentials.access_key if client_credentials else None
        if access_key == INTERPRETER_KEY and self.state_machine_role:
            return self.role(self.state_machine_role, "states").credentials
        if (identity := self.current()) is not None:
            return identity.credentials
        if access_key in self._known_keys:
            return client_credentials
        return self.operator.credentials if self.operator else client_credentials

    def _get_auth_instance(self) -> Callable[..., Any]:
        identities = self

        def get_auth_instance(signer: RequestSigner, *args: Any, request_credentials: Any = None, **kwargs: Any) -> Any:
            credentials = identities.credentials_for(request_credentials or signer._credentials)
            return _original_get_auth_instance(signer, *args, request_credentials=credentials, **kwargs)

        return get_auth_instance


# -- authorization -------------------------------------------------------------------------
def _authorize(response: Any, resource: str = "*") -> None:
    """moto's normal-action check, with the resources AWS would check for this request."""
    if ActionAuthenticatorMixin.request_count < moto_settings.INITIAL_NO_AUTH_ACTION_COUNT:
        ActionAuthenticatorMixin.request_count += 1
        return
    if response.headers.get("X-Amz-Target") in ActionAuthenticatorMixin.PUBLIC_OPERATIONS:
        return
    service = response.headers["Authorization"].split("Credential=", 1)[1].split("/")[3]
    operation = response._get_action()
    checks = request_checks(service, operation, response, account=response.current_account, region=response.region)
    if not checks:
        checks = [Check(f"{service}:{IAM_ACTIONS.get((service, operation), operation)}",
                        None if resource == "*" else resource)]
    parsed = urlparse(response.uri)
    path = response.raw_path + (f"?{parsed.query}" if parsed.query else "")
    for check in checks:
        request = _ScopedRequest(account_id=response.current_account, method=response.method, path=path,
                                 data=response.data, body=response.raw_body, headers=response.headers,
                                 action=check.action.split(":", 1)[1])
        request._action = check.action
        request.check_signature()
        request.check_action_permitted(check.resource)


class _ScopedRequest(IAMRequest):
    """moto's IAM request, also for checks whose resource is unknown (``None``): the action alone."""

    def check_action_permitted(self, resource: str | None) -> None:
        if resource is not None or self._action == "sts:GetCallerIdentity":  # the latter needs no permission
            return super().check_action_permitted(resource or "*")
        permitted = False
        for policy in self._access_key.collect_policies():
            result = _action_permitted_on_some_resource(IAMPolicy(policy), self._action)
            if result == PermissionResult.DENIED:
                self._raise_access_denied()
            permitted = permitted or result == PermissionResult.PERMITTED
        if not permitted:
            self._raise_access_denied()


def _action_permitted_on_some_resource(policy: IAMPolicy, action: str) -> PermissionResult:
    statements = policy._policy_json["Statement"]
    result = PermissionResult.NEUTRAL
    for statement in statements if isinstance(statements, list) else [statements]:
        if not IAMPolicyStatement(statement)._check_element_matches("Action", action):
            continue
        if statement["Effect"] == "Deny" and statement.get("Resource") in ("*", ["*"]):
            return PermissionResult.DENIED
        if statement["Effect"] == "Allow":
            result = PermissionResult.PERMITTED
    return result


def request_checks(service: str, operation: str, response: Any, *, account: str, region: str) -> list[Check]:
    """The (action, resource) pairs AWS authorizes for one request of the services the stack's
    code calls; empty where only the action is known."""
    arn = f"arn:aws:{service}:{region}:{account}"
    if service == "dynamodb":
        body = _json_body(response)

        def table(name: str, index: str | None = None) -> str:
            resource = name if name.startswith("arn:") else f"{arn}:table/{name}"
            return f"{resource}/index/{index}" if index else resource

        if operation in ("TransactWriteItems", "TransactGetItems"):
            return [Check(f"dynamodb:{TRANSACT_ACTIONS[kind]}", table(request["TableName"]))
                    for item in body.get("TransactItems", []) for kind, request in item.items()]
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [Check(f"dynamodb:{operation}", table(name)) for name in body.get("RequestItems", {})]
        if "TableName" in body:
            return [Check(f"dynamodb:{operation}", table(body["TableName"], body.get("IndexName")))]
        return []
    if service == "sns" and operation == "Publish":
        target = response._get_param("TopicArn") or response._get_param("TargetArn")
        return [Check("sns:Publish", target)] if target else []
    if service == "lambda" and operation == "Invoke":
        name = unquote(response.path.split("/functions/", 1)[1].split("/invocations", 1)[0])
        resource = name if name.startswith("arn:") else f"{arn}:function:{name}"
        return [Check("lambda:InvokeFunction", resource)]
    if service == "states":
        body = _json_body(response)
        target = body.get("stateMachineArn") or body.get("executionArn")
        # Task tokens carry no ARN the local mode can read: SendTask* is checked by action.
        return [Check(f"states:{operation}", target)] if target else []
    if service == "secretsmanager" and operation in ("GetSecretValue", "DescribeSecret"):
        secret = _json_body(response).get("SecretId", "")  # the handlers name secrets by ARN
        return [Check(f"secretsmanager:{operation}", secret)] if secret.startswith("arn:") else []
    if service == "sagemaker" and operation in ("CreateTrainingJob", "DescribeTrainingJob", "StopTrainingJob"):
        body = _json_body(response)
        checks = [Check(f"sagemaker:{operation}", f"{arn}:training-job/{body['TrainingJobName'].lower()}")]
        if operation == "CreateTrainingJob":
            # The caller hands the job its role: AWS checks iam:PassRole on it.
            checks.append(Check("iam:PassRole", body["RoleArn"]))
        return checks
    return []


def _json_body(response: Any) -> dict[str, Any]:
    body = response.body  # some of moto's handlers have parsed it already
    return body if isinstance(body, dict) else json.loads(body or "{}")
