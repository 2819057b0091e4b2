"""Each DynamoDB request atomic in moto, as it is in AWS.

moto's DynamoDB is not safe under threads: its TransactWriteItems deep-copies the table while
another thread writes to it ("dictionary changed size during iteration") and, on a failed
condition, restores that copy over the other thread's write; two conditional puts can both
succeed. The local stack has threads (the HTTP server, one per Step Functions execution), so the
local mode serializes DynamoDB requests, one at a time, as the service itself would apply them.
Only DynamoDB: its requests never call back into a Lambda handler, so the lock cannot deadlock
with the dispatcher's. Our own read-then-write windows still interleave, as they would on AWS.

moto also snapshots a whole table, once per operation, before each TransactWriteItems so that it
can roll back: ingest is one transaction per interaction, so storing n interactions cost O(n²)
(95% of the load test's time was that deep copy). Under the lock a transaction needs only the
items it names: they are copied before it runs and put back if it is cancelled, which is the
same all-or-nothing outcome.
"""
from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import moto.dynamodb.models as dynamodb_models
from moto.core.botocore_stubber import BotocoreStubber
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

_LOCK = threading.Lock()
_process_request = BotocoreStubber.process_request
_transact_write_items = DynamoDBBackend.transact_write_items


def _atomic_process_request(stubber: BotocoreStubber, request: Any) -> Any:
    if "://dynamodb." not in request.url:
        return _process_request(stubber, request)
    with _LOCK:
        return _process_request(stubber, request)


class _NoTableCopy:
    """``copy`` as moto's DynamoDB module sees it: a table "copy" is the table itself, since the
    items a transaction names are saved by :func:`_item_level_transaction` instead."""

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


Saved = tuple[Table, DynamoType, DynamoType | None, Any]


def _named_items(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> list[Saved]:
    saved: list[Saved] = []
    for entry in transact_items:
        for op in entry.values():
            table = backend.tables.get(op.get("TableName", ""))
            key = op.get("Key") or op.get("Item") or {}
            if table is None or table.hash_key_attr not in key:
                continue  # moto rejects the request before it writes anything
            hash_key = DynamoType(key[table.hash_key_attr])
            range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr in key else None
            if table.has_range_key and range_key is None:
                continue
            saved.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
    return saved


def _restore(saved: list[Saved]) -> None:
    for table, hash_key, range_key, item in reversed(saved):
        if item is None:
            table.delete_item(hash_key, range_key)
        elif range_key is not None:
            table.items[hash_key][range_key] = item
        else:
            table.items[hash_key] = item


def _item_level_transaction(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    saved = _named_items(backend, transact_items)
    try:
        _transact_write_items(backend, transact_items)
    except Exception:
        _restore(saved)
        raise


@contextmanager
def atomic_dynamodb() -> Iterator[None]:
    with (mock.patch.object(BotocoreStubber, "process_request", new=_atomic_process_request),
          mock.patch.object(dynamodb_models, "copy", new=_NoTableCopy),
          mock.patch.object(DynamoDBBackend, "transact_write_items", new=_item_level_transaction)):
        yield
