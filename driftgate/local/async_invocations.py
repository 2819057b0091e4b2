"""The asynchronous Lambda invocations a handler makes, and what they answered.

moto's Lambda ``Invoke`` hands an ``InvocationType=Event`` request to the same backend method as
a synchronous one (it only answers 202 instead of 200), so the dispatcher runs the invoked
handler at once, in the caller's thread and inside the caller's invocation. What the invoked
function answered would go to its logs in AWS; locally :func:`recording` keeps it, so that
``LocalDeployment.fire_schedule`` can return the checks the schedule started."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

from driftgate.local.dispatch import Dispatcher


@dataclass(frozen=True)
class AsyncInvocation:
    logical_id: str
    event: Any
    answer: Any
    failed: bool  # the handler raised (in AWS: retried by Lambda, then dropped)


@contextmanager
def recording(dispatcher: Dispatcher) -> Iterator[list[AsyncInvocation]]:
    """Records the Event invocations made in this thread while the block runs (another thread's,
    such as a state machine task's, are not ours)."""
    thread = threading.get_ident()
    started: list[AsyncInvocation] = []
    original = dispatcher._moto_invoke

    def recorded(function_name: str, qualifier: Any, body: Any, headers: Any,
                 response_headers: dict[str, str]) -> bytes:
        answer = original(function_name, qualifier, body, headers, response_headers)
        if threading.get_ident() == thread and (headers or {}).get("X-Amz-Invocation-Type") == "Event":
            started.append(AsyncInvocation(
                logical_id=dispatcher.lookup(function_name).logical_id, event=json.loads(body) if body else {},
                answer=json.loads(answer or b"null"), failed="x-amz-function-error" in response_headers))
        return answer

    with mock.patch.object(dispatcher, "_moto_invoke", recorded):
        yield started
