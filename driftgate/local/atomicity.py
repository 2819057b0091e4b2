"""Each DynamoDB request atomic in moto, as it is in AWS.

moto's DynamoDB is not safe under threads: its TransactWriteItems deep-copies the table while
another thread writes to it ("dictionary changed size during iteration") and, on a failed
condition, restores that copy over the other thread's write; two conditional puts can both
succeed. The local stack has threads (the HTTP server, one per Step Functions execution), so the
local mode serializes DynamoDB requests, one at a time, as the service itself would apply them.
Only DynamoDB: its requests never call back into a Lambda handler, so the lock cannot deadlock
with the dispatcher's. Our own read-then-write windows still interleave, as they would on AWS.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.core.botocore_stubber import BotocoreStubber

_LOCK = threading.Lock()
_process_request = BotocoreStubber.process_request


def _atomic_process_request(stubber: BotocoreStubber, request: Any) -> Any:
    if "://dynamodb." not in request.url:
        return _process_request(stubber, request)
    with _LOCK:
        return _process_request(stubber, request)


@contextmanager
def atomic_dynamodb() -> Iterator[None]:
    with mock.patch.object(BotocoreStubber, "process_request", new=_atomic_process_request):
        yield
