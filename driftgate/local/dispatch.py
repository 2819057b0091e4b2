"""Routes moto's Lambda invocations to the project's real handlers, in this process."""
from __future__ import annotations

import importlib
import json
import os
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from aws_lambda_powertools.metrics import base as metrics_base
from aws_lambda_powertools.metrics.provider.cloudwatch_emf import cloudwatch as emf
from moto.awslambda_simple.models import LambdaSimpleBackend

from driftgate.local.iam import Identities

# Handlers mutate nothing global but os.environ is process-wide: one function environment at a
# time, a handler's or a caller's (LocalDeployment.environment), so none changes under another.
_INVOKE_LOCK = threading.RLock()


def _environ_items(self: Any) -> Any:
    """``os.environ.items()`` from one copy of the environment. The stock view reads each key
    back as it goes, so a thread that lists the environment while a function environment is
    restored (a key popped) raises KeyError: botocore does, via urllib's proxy lookup, whenever
    it makes a client, e.g. in Step Functions' interpreter thread while a handler ends in another
    thread. One Lambda process never runs two functions; the local mode does."""
    data = self._data.copy()  # one C-level dict copy: nothing changes it half-way
    return {self.decodekey(key): self.decodevalue(value) for key, value in data.items()}.items()


os._Environ.items = _environ_items  # type: ignore[method-assign, assignment]


@dataclass(frozen=True)
class LocalFunction:
    logical_id: str
    name: str
    arn: str
    handler: str
    role_arn: str
    environment: dict[str, str]
    timeout_s: int
    memory_mb: int


@dataclass
class LambdaContext:
    """What the Lambda runtime passes as ``context`` (the fields Powertools reads)."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_s: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_s * 1000


@contextmanager
def patched_environ(variables: dict[str, str]) -> Iterator[None]:
    """os.environ with ``variables`` set, restored after. Only those keys change: other threads
    (moto's Step Functions interpreter creating clients, the HTTP server) keep reading the
    credentials and region at every moment; clearing and refilling the whole environment left a
    window in which they vanished. Code outside handlers should still not hold this while a
    handler may run in another thread (the keys themselves are process-wide)."""
    saved = {key: os.environ.get(key) for key in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def environment_snapshot() -> dict[str, str]:
    """A copy of the process environment taken while no function environment is changing it:
    copying iterates the keys, and a key popped meanwhile by another thread raised KeyError
    (a local training job's environment, taken in an execution's thread, once failed so)."""
    with _INVOKE_LOCK:
        return dict(os.environ)


@contextmanager
def function_environment(variables: dict[str, str]) -> Iterator[None]:
    """A function's environment for the block, holding the invoke lock: a handler started in
    another thread meanwhile waits, instead of losing keys when this block restores them."""
    with _INVOKE_LOCK, patched_environ(variables):
        yield


class Dispatcher:
    """Owns the mapping from function name/ARN to handler and patches moto's simple Lambda backend."""

    def __init__(self, region: str, local_environment: dict[str, str], identities: Identities) -> None:
        self.region = region
        self.identities = identities
        self.local_environment = local_environment
        self.functions: dict[str, LocalFunction] = {}
        self.invocations: list[tuple[str, dict[str, Any]]] = []
        # Injected faults (driftgate.local.faults): each may answer an invocation with an error.
        self.faults: list[Callable[[LocalFunction, Any], dict[str, Any] | None]] = []
        self.current: LocalFunction | None = None  # the function whose handler runs now
        # EMF metric lines the handlers print: what CloudWatch would ingest from their logs.
        self.metrics: list[dict[str, Any]] = []
        self._patches = [
            mock.patch.object(LambdaSimpleBackend, "invoke", new=lambda _backend, *args: self._moto_invoke(*args)),
            # Powertools prints EMF from these two modules (metric sets, cold start, single metrics).
            *(mock.patch.object(module, "print", new=self._collect_emf, create=True) for module in (emf, metrics_base)),
        ]

    def add(self, function: LocalFunction) -> None:
        for key in (function.name, function.arn, function.logical_id):
            self.functions[key] = function

    def start(self) -> None:
        for patch in self._patches:
            patch.start()

    def stop(self) -> None:
        for patch in reversed(self._patches):
            patch.stop()

    def _collect_emf(self, line: str, *_args: Any, **_kwargs: Any) -> None:
        self.metrics.append(json.loads(line))

    def lookup(self, name_or_arn: str) -> LocalFunction:
        key = name_or_arn.split(":function:")[-1].split(":")[0] if ":function:" in name_or_arn else name_or_arn
        return self.functions[key]

    def call(self, function: LocalFunction, event: Any) -> Any:
        """Runs the real handler with the function's environment, as the Lambda runtime would."""
        module_name, handler_name = function.handler.rsplit(".", 1)
        context = LambdaContext(function.name, function.arn, function.memory_mb, function.timeout_s)
        variables = {
            **function.environment,
            **self.local_environment,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
        }
        # The handler's AWS calls sign as its function's role, as in Lambda.
        with function_environment(variables), self.identities.acting_as(self.identities.role(function.role_arn)):
            self.invocations.append((function.logical_id, event))
            handler = getattr(importlib.import_module(module_name), handler_name)
            caller, self.current = self.current, function
            try:
                return handler(event, context)
            finally:
                self.current = caller

    def _moto_invoke(self, function_name: str, qualifier: Any, body: Any, headers: Any,
                     response_headers: dict[str, str]) -> bytes:
        function = self.lookup(function_name)
        event = json.loads(body) if body else {}
        injected = next((error for fault in list(self.faults) if (error := fault(function, event))), None)
        if injected is not None:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(injected).encode()
        try:
            result = self.call(function, event)
        except Exception as exc:  # the Lambda runtime's contract: an error payload, not a crash
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "stackTrace": traceback.format_exception(exc)[-5:],
            }).encode()
        return json.dumps(result, default=str).encode()
