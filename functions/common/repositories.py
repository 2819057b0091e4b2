"""AWS access behind small repository classes. ``repositories()`` reads the environment when
called, so moto (or the local mode) is running before any client exists."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from boto3.dynamodb.conditions import Key

from functions.common.clients import client, dynamodb_table, region
from functions.common.contract import model_pk, run_sk, settings


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def to_dynamo(value: Any) -> Any:
    """DynamoDB wants Decimal, not float; JSON round-trip does it for nested values too."""
    return json.loads(json.dumps(value), parse_float=Decimal)


def from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, (list, set)):
        return [from_dynamo(v) for v in value]
    return value


class StateRepository:
    """The state table (pk/sk): per-model windows, baselines, pipeline runs, locks, registry."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def put(self, item: dict[str, Any], **kwargs: Any) -> None:
        self.table.put_item(Item=to_dynamo(item), **kwargs)

    def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item = self.table.get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True).get("Item")
        return from_dynamo(item) if item else None

    def query(self, pk: str, sk_prefix: str, *, newest_first: bool = False,
              limit: int | None = None) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(pk) & Key("sk").begins_with(sk_prefix),
            "ScanIndexForward": not newest_first,
            "ConsistentRead": True,
        }
        items: list[dict[str, Any]] = []
        while True:
            if limit:
                kwargs["Limit"] = limit - len(items)
            page = self.table.query(**kwargs)
            items.extend(from_dynamo(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page or (limit and len(items) >= limit):
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def record_run(self, model: str, execution_arn: str, status: str, **details: Any) -> dict[str, Any]:
        item = {"pk": model_pk(model), "sk": run_sk(utc_now(), execution_arn.rsplit(":", 1)[-1]),
                "execution_arn": execution_arn, "status": status, "model": model, **details}
        self.put(item)
        return item


@dataclass(frozen=True)
class Repositories:
    state: StateRepository
    s3: Any
    stepfunctions: Any


@lru_cache(maxsize=8)
def _build(region_name: str | None, state_table: str) -> Repositories:
    return Repositories(state=StateRepository(dynamodb_table(state_table)), s3=client("s3"),
                        stepfunctions=client("stepfunctions"))


def repositories() -> Repositories:
    """Clients are cached per configuration: reused across warm invocations, rebuilt when the
    environment names other tables (tests, the local mode)."""
    return _build(region(), settings.state_table)
