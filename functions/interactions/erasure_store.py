"""AWS access of the right to erasure: the by-user index, raw objects, reservoir samples and
drift reports in the state table, and tombstones."""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from functions.common.contract import DRIFT_FIELDS, DRIFT_PREFIX, baseline_embeddings_key, model_pk
from functions.common.exceptions import ConflictError
from functions.common.repositories import from_dynamo, to_dynamo
from functions.interactions.models import USER_ID_KEY
from functions.interactions.raw import JsonLinesObjects, Line
from functions.interactions.sample_items import SampleItems

STATE_RETRIES = 8
TEXT_FIELDS = ("prompt", "output", "reference")
_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize


@dataclass(frozen=True)
class UserRecord:
    """One of the user's interactions, as the by-user index projects it."""

    request_id: str
    raw_key: str
    model: str
    window: str
    user_id: str  # as the item stores it: the keyed hash, or the raw id of a record stored before hashing


def is_users(line: Line, user_ids: Collection[str], request_ids: set[str]) -> bool:
    """The user's line: by request id, or by a form of the user id it carries (a copy no item points to)."""
    user = (line.get("metadata") or {}).get(USER_ID_KEY)
    return line.get("request_id") in request_ids or (user is not None and str(user) in user_ids)


def _normalized(text: str) -> str:
    return " ".join(text.split())


def shows(example: str, texts: set[str]) -> bool:
    """Whether a drift report example (whitespace-collapsed, maybe clipped with '…') is one of ``texts``."""
    head = _normalized(example).removesuffix("…")
    return bool(head) and any(text.startswith(head) for text in texts)


class ErasureStore:
    def __init__(self, *, dynamodb: Any, raw: JsonLinesObjects, interactions_table: str, user_index: str,
                 state_table: str) -> None:
        self.dynamodb = dynamodb
        self.raw = raw
        self.interactions_table = interactions_table
        self.user_index = user_index
        self.state_table = state_table
        self.samples = SampleItems(dynamodb, state_table)

    def records_of(self, user_ids: Collection[str]) -> list[UserRecord]:
        """The user's live interactions under any of the id's stored forms (tombstones carry no
        user id, so the sparse index drops them)."""
        records = []
        for user_id in dict.fromkeys(user_ids):
            request: dict[str, Any] = {
                "TableName": self.interactions_table, "IndexName": self.user_index,
                "KeyConditionExpression": "user_id = :u", "ExpressionAttributeValues": {":u": {"S": user_id}},
            }
            while True:
                page = self.dynamodb.query(**request)
                records += [UserRecord(request_id=i["request_id"]["S"], raw_key=i["raw_key"]["S"],
                                       model=i["model"]["S"], window=i["window"]["S"], user_id=user_id)
                            for i in page.get("Items", [])]
                if "LastEvaluatedKey" not in page:
                    break
                request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return records

    def texts(self, keys: set[str], user_ids: Collection[str], request_ids: set[str]) -> set[str]:
        """The user's texts in these raw objects, whitespace-collapsed (as drift examples are)."""
        found: set[str] = set()
        for key in sorted(keys):
            lines, _etag = self.raw.read(key)
            found |= {_normalized(line[f]) for line in lines if is_users(line, user_ids, request_ids)
                      for f in TEXT_FIELDS if isinstance(line.get(f), str) and line[f].strip()}
        return found

    def erase_raw(self, key: str, user_ids: Collection[str], request_ids: set[str]) -> tuple[int, bool, bool]:
        """(lines removed, rewritten, deleted) for one raw object (or the baseline's copy of its lines)."""
        edit = self.raw.edit(key, lambda lines: [line for line in lines if not is_users(line, user_ids, request_ids)])
        removed = len(edit.before) - len(edit.after)
        return removed, edit.changed and not edit.deleted, edit.deleted

    def delete_baseline_vectors(self, model: str) -> None:
        """Deletes the model's stored baseline embeddings (vectors of the baseline sample's texts);
        the next drift check embeds the scrubbed sample again. Absent objects are no error."""
        for field in DRIFT_FIELDS:
            self.raw.s3.delete_object(Bucket=self.raw.bucket, Key=baseline_embeddings_key(model, field))

    # -- state table ---------------------------------------------------------------------------
    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item = self.dynamodb.get_item(TableName=self.state_table, Key={"pk": {"S": pk}, "sk": {"S": sk}},
                                      ConsistentRead=True).get("Item")
        return from_dynamo({k: _deserialize(v) for k, v in item.items()}) if item else None

    def scrub_sample(self, pk: str, sk: str, request_ids: set[str]) -> int:
        """Takes the user's records out of one sample item (a window shard's, or the frozen
        baseline's); conditional on the version it read, as ingest's sampling is."""
        for _attempt in range(STATE_RETRIES):
            sample, version, attributes = self.samples.read(pk, sk)
            if sample is None:
                return 0
            removed = sample.without(request_ids)
            if not removed:
                return 0
            if self.samples.write(pk, sk, sample, version, **attributes):
                return removed
        raise ConflictError(f"sample {sk} of {pk} kept changing during the erasure; retry")

    def scrub_drift_reports(self, model: str, texts: set[str]) -> int:
        """Drops the user's texts from the example lists of the model's stored drift reports."""
        removed = 0
        request: dict[str, Any] = {
            "TableName": self.state_table, "ConsistentRead": True,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :drift)",
            "ExpressionAttributeValues": {":pk": {"S": model_pk(model)}, ":drift": {"S": DRIFT_PREFIX}},
        }
        while texts:
            page = self.dynamodb.query(**request)
            for raw_item in page.get("Items", []):
                item = from_dynamo({k: _deserialize(v) for k, v in raw_item.items()})
                dropped = 0
                for cluster in item.get("report", {}).get("clusters", []):
                    examples = cluster.get("examples") or []
                    kept = [e for e in examples if not shows(e, texts)]
                    if len(kept) < len(examples):
                        dropped += len(examples) - len(kept)
                        cluster["examples"] = kept
                if dropped:
                    # The scheduled check rewrites whole reports too: last writer wins, nothing merges.
                    self.dynamodb.put_item(TableName=self.state_table,
                                           Item={k: _serialize(v) for k, v in to_dynamo(item).items()})
                    removed += dropped
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return removed

    # -- interactions table --------------------------------------------------------------------
    def tombstone(self, request_id: str, user_id: str, erased_at: str) -> tuple[bool, bool]:
        """Replaces the item by a tombstone; (replaced, it carried feedback). Conditional on the
        user id, so two concurrent erasures count each record once."""
        try:
            old = self.dynamodb.put_item(
                TableName=self.interactions_table,
                Item={"request_id": {"S": request_id}, "erased_at": {"S": erased_at}},
                ConditionExpression="user_id = :u", ExpressionAttributeValues={":u": {"S": user_id}},
                ReturnValues="ALL_OLD",
            ).get("Attributes", {})
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False, False
        return True, "feedback" in old
