"""Fault injection for the local stack, after the actions of AWS Fault Injection Service.

Each fault is injected where AWS itself would produce it, so our code sees what it sees in AWS:
- a Lambda invocation error (FIS ``aws:lambda:invocation-error``), e.g. the runtime's timeout
  response ``Sandbox.Timedout``: the dispatcher answers in place of the handler;
- a DynamoDB throttle: moto's HTTP layer answers ``ThrottlingException`` (HTTP 400), so
  botocore's retry logic and our error handling run as they would against AWS;
- a crashed SageMaker job: the job's process is killed (as by the OOM killer);
- a corrupted artifact: bytes of an object in S3 are changed before a function reads it.

Faults fire ``times`` times (``None``: until cleared); ``fired`` counts what was injected.
"""
from __future__ import annotations

import io
import json
import tarfile
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import boto3
from botocore.awsrequest import AWSResponse
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse

from driftgate.local.dispatch import Dispatcher, LocalFunction

_original_stubber_call = BotocoreStubber.__call__


@dataclass
class _Budget:
    times: int | None

    def take(self) -> bool:
        if self.times is None:
            return True
        if self.times <= 0:
            return False
        self.times -= 1
        return True


@dataclass
class Faults:
    """Faults armed on one local stack; use :meth:`clear` (or leave the stack) to disarm."""

    dispatcher: Dispatcher
    region: str
    fired: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stub_patch: Any = None
    _throttles: list[tuple[str, str | None, _Budget]] = field(default_factory=list)
    _crashes: list[tuple[str, _Budget]] = field(default_factory=list)

    # -- Lambda ----------------------------------------------------------------------------
    def lambda_error(self, function: str, *, error_type: str, message: str, times: int | None = None) -> None:
        """Invocations of ``function`` (a logical-id prefix) fail with this Lambda error payload."""
        budget = _Budget(times)

        def fault(local: LocalFunction, _event: Any) -> dict[str, Any] | None:
            if not local.logical_id.startswith(function) or not self._take(budget, f"lambda:{error_type}:{function}"):
                return None
            return {"errorType": error_type, "errorMessage": message}

        self.dispatcher.faults.append(fault)

    def lambda_timeout(self, function: str, *, times: int | None = None) -> None:
        """What the Lambda runtime returns when a function runs past its timeout."""
        timeout_s = next(f.timeout_s for f in self.dispatcher.functions.values() if f.logical_id.startswith(function))
        self.lambda_error(function, error_type="Sandbox.Timedout",
                          message=f"Task timed out after {timeout_s:.2f} seconds", times=times)

    def before_invoke(self, function: str, action: Callable[[Any], None], *, times: int | None = 1) -> None:
        """Runs ``action(event)`` just before ``function``'s handler (to tamper with its inputs)."""
        budget = _Budget(times)

        def fault(local: LocalFunction, event: Any) -> None:
            if local.logical_id.startswith(function) and self._take(budget, f"before:{function}"):
                action(event)

        self.dispatcher.faults.append(fault)

    def corrupt_adapter(self, *, before: str = "Register", uri_field: str = "adapter_uri") -> None:
        """Flips bytes inside the adapter weights in S3 (the archive itself stays readable), as a
        bad disk or a partial overwrite would, just before ``before`` reads it."""
        s3 = boto3.client("s3", region_name=self.region)

        def tamper(event: dict[str, Any]) -> None:
            bucket, _, key = event[uri_field].removeprefix("s3://").partition("/")
            archive = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            s3.put_object(Bucket=bucket, Key=key, Body=_flip_weights(archive))

        self.before_invoke(before, tamper)

    # -- DynamoDB --------------------------------------------------------------------------
    def throttle_dynamodb(self, operation: str, *, function: str | None = None, times: int | None = None) -> None:
        """DynamoDB answers ``operation`` (e.g. ``TransactWriteItems``) with ThrottlingException,
        only for calls made by ``function`` (a logical-id prefix) when given."""
        self._throttles.append((operation, function, _Budget(times)))
        if self._stub_patch is None:
            faults = self

            def stubber_call(stubber: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
                throttled = faults._throttled(event_name, request)
                return throttled or _original_stubber_call(stubber, event_name, request, **kwargs)

            self._stub_patch = mock.patch.object(BotocoreStubber, "__call__", new=stubber_call)
            self._stub_patch.start()

    def _throttled(self, event_name: str, request: Any) -> AWSResponse | None:
        if not event_name.startswith("before-send.dynamodb"):
            return None
        target = (request.headers.get("X-Amz-Target") or b"")
        operation = (target.decode() if isinstance(target, bytes) else target).rsplit(".", 1)[-1]
        current = self.dispatcher.current
        for wanted, function, budget in self._throttles:
            if wanted != operation or (function and not (current and current.logical_id.startswith(function))):
                continue
            if self._take(budget, f"throttle:{operation}:{function or '*'}"):
                body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
                                   "message": "Rate of requests exceeds the allowed throughput."}).encode()
                return AWSResponse(request.url, 400, {"Content-Type": "application/x-amz-json-1.0"},
                                   MockRawResponse(body))
        return None

    # -- SageMaker -------------------------------------------------------------------------
    def crash_job(self, program: str, *, times: int | None = 1) -> None:
        """The next training jobs running ``program`` are killed with SIGKILL once started."""
        self._crashes.append((program, _Budget(times)))

    def should_crash(self, program: str) -> bool:
        """Asked by the local SageMaker for each job it starts."""
        return any(wanted == program and self._take(budget, f"crash:{program}") for wanted, budget in self._crashes)

    # -- housekeeping ----------------------------------------------------------------------
    def clear(self) -> None:
        """Disarms every fault and resets ``fired``."""
        self.fired.clear()
        self.dispatcher.faults.clear()
        self._throttles.clear()
        self._crashes.clear()
        if self._stub_patch is not None:
            self._stub_patch.stop()
            self._stub_patch = None

    def _take(self, budget: _Budget, name: str) -> bool:
        with self._lock:
            if not budget.take():
                return False
            self.fired[name] += 1
            return True


def _flip_weights(archive: bytes) -> bytes:
    """The same tar.gz with the last bytes of the safetensors weights inverted (tensor data, not
    the header, so the file still parses and only its hash tells)."""
    source = tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz")
    out = io.BytesIO()
    with source, tarfile.open(fileobj=out, mode="w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read() if member.isfile() else None
            if data is not None and member.name.endswith(".safetensors"):
                data = data[:-16] + bytes(b ^ 0xFF for b in data[-16:])
            target.addfile(member, io.BytesIO(data) if data is not None else None)
    return out.getvalue()
