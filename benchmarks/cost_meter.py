"""The meter of ``bench_cost``: what the local stack's handlers use of each priced AWS meter, per
phase, counted from the boto3 calls they make, the dispatcher, the API entry point, SageMaker's
seam and what they print."""
from __future__ import annotations

import json
import math
import re
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3

from benchmarks.bench_ingest_keys import item_kb
from driftgate.local import LocalDeployment

S3_PUT_TIER = {"PutObject", "CopyObject", "ListObjects", "ListObjectsV2", "CreateMultipartUpload", "UploadPart",
               "CompleteMultipartUpload", "DeleteObjects"}  # DeleteObject is free
S3_GET_TIER = {"GetObject", "HeadObject", "GetObjectTagging"}


def function_name(logical_id: str) -> str:
    """``ApiHandlerFunction1A2B3C4D`` -> ``ApiHandler``: the construct's name."""
    return re.sub(r"(Function)?[0-9A-F]{8}$", "", logical_id)


def _read_kb(items: list[dict[str, Any]], factor: float = 1.0) -> float:
    """RRUs of one read returning ``items``: 1 per 4 KB of all of them together (at least 1)."""
    total = sum(item_kb(i) for i in items) if items else 1
    return factor * max(1, math.ceil(total / 4))


class Meter:
    """Counts what handlers use, per phase: hooked into every boto3 client the handlers create,
    the dispatcher, the API entry point, SageMaker's seam and stdout."""

    def __init__(self, stack: LocalDeployment) -> None:
        self.stack = stack
        self.phase: str | None = None
        self.usage: dict[str, Counter[str]] = defaultdict(Counter)
        self.seconds: dict[str, Counter[str]] = defaultdict(Counter)
        self.invocations: dict[str, Counter[str]] = defaultdict(Counter)
        self.jobs: list[dict[str, Any]] = []
        self._nested = threading.local()
        self._lock = threading.Lock()

    def install(self) -> None:
        events = boto3._get_default_session().events
        events.register("before-call.dynamodb", self._dynamodb_write)
        events.register("after-call.dynamodb", self._dynamodb_read)
        events.register("before-call.s3", self._s3)
        events.register("before-call.kms", self._kms)
        self._wrap_dispatcher()
        self._wrap_api()
        self._wrap_sagemaker()
        sys.stdout = _CountingStream(sys.stdout, self)

    def add(self, key: str, amount: float) -> None:
        if self.phase and self.stack.dispatcher.current is not None:
            with self._lock:
                self.usage[self.phase][key] += amount

    @contextmanager
    def measuring(self, phase: str) -> Iterator[None]:
        self.phase = phase
        try:
            yield
        finally:
            self.phase = None

    # -- AWS calls ---------------------------------------------------------------------
    def _dynamodb_write(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        body = json.loads(params.get("body") or b"{}")
        name = model.name
        if name == "PutItem":
            self.add("dynamodb_wru", item_kb(body["Item"]))
        elif name in ("UpdateItem", "DeleteItem"):
            self.add("dynamodb_wru", 1)  # the item's size is not in the request; ours are under 1 KB
        elif name == "BatchWriteItem":
            for requests in body["RequestItems"].values():
                self.add("dynamodb_wru", sum(item_kb(r["PutRequest"]["Item"]) if "PutRequest" in r else 1
                                             for r in requests))
        elif name == "TransactWriteItems":
            self.add("dynamodb_wru", sum(2 * (item_kb(a["Put"]["Item"]) if "Put" in a else 1)
                                         for a in body["TransactItems"] if "ConditionCheck" not in a))

    def _dynamodb_read(self, http_response: Any, model: Any, **_: Any) -> None:
        if http_response.status_code != 200 or model.name not in ("GetItem", "Query", "Scan", "BatchGetItem",
                                                                    "TransactGetItems"):
            return
        body = json.loads(http_response.content or b"{}")
        if model.name == "GetItem":
            self.add("dynamodb_rru", _read_kb([body["Item"]] if "Item" in body else []))
        elif model.name in ("Query", "Scan"):
            self.add("dynamodb_rru", _read_kb(body.get("Items", [])))
        elif model.name == "BatchGetItem":
            self.add("dynamodb_rru", sum(_read_kb([i]) for items in body.get("Responses", {}).values() for i in items))
        else:
            self.add("dynamodb_rru", sum(_read_kb([r["Item"]], 2) for r in body.get("Responses", []) if "Item" in r))

    def _s3(self, model: Any, **_: Any) -> None:
        if model.name in S3_PUT_TIER:
            self.add("s3_put_requests", 1)
        elif model.name in S3_GET_TIER:
            self.add("s3_get_requests", 1)

    def _kms(self, **_: Any) -> None:
        self.add("kms_requests", 1)

    # -- entry points ------------------------------------------------------------------
    def _wrap_dispatcher(self) -> None:
        dispatcher, call = self.stack.dispatcher, self.stack.dispatcher.call

        def timed(function: Any, event: Any) -> Any:
            # Seconds of the invocations nested in this one (an async check the dispatcher runs
            # inline locally), which are theirs: None at the top level.
            parent = getattr(self._nested, "children", None)
            self._nested.children = 0.0
            started = time.perf_counter()
            try:
                return call(function, event)
            finally:
                total = time.perf_counter() - started
                own = total - self._nested.children
                self._nested.children = None if parent is None else parent + total
                if self.phase:
                    name = function_name(function.logical_id)
                    with self._lock:
                        self.seconds[self.phase][name] += own
                        self.invocations[self.phase][name] += 1

        dispatcher.call = timed  # type: ignore[method-assign]

    def _wrap_api(self) -> None:
        api = self.stack.api

        def counted(*args: Any, **kwargs: Any) -> Any:
            if self.phase:
                self.usage[self.phase]["api_requests"] += 1
            return api(*args, **kwargs)

        self.stack.api = counted  # type: ignore[method-assign]

    def _wrap_sagemaker(self) -> None:
        seam, complete = self.stack.sagemaker, self.stack.sagemaker.complete

        def timed(request: dict[str, Any]) -> dict[str, Any]:
            started = time.perf_counter()
            try:
                return complete(request)
            finally:
                program = str(request.get("HyperParameters", {}).get("sagemaker_program", "")).strip('"')
                self.jobs.append({"job": request["TrainingJobName"], "program": program,
                                  "instance_type": request["ResourceConfig"]["InstanceType"],
                                  "local_seconds": round(time.perf_counter() - started, 2)})

        seam.complete = timed  # type: ignore[method-assign]


class _CountingStream:
    """stdout: what a handler prints (Powertools' JSON logs, EMF lines) is counted as CloudWatch Logs
    bytes and dropped; anything else passes through."""

    def __init__(self, stream: Any, meter: Meter) -> None:
        self.stream, self.meter = stream, meter

    def write(self, text: str) -> int:
        if self.meter.stack.dispatcher.current is not None:
            self.meter.add("log_bytes", len(text.encode()))
            return len(text)
        return self.stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)
