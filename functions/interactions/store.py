"""Stores accepted interactions exactly once: raw JSON Lines in S3, one item per ``request_id``
in DynamoDB, and the window aggregates updated in the same DynamoDB transaction as the items
they count (so a retried batch can neither lose nor double-count a record). Aggregates are
sharded by ``request_id``, and each item carries its key in the sample index
(``functions.interactions.shards``): no one item takes every write of a busy model.

Each item names the raw object that holds its line (``raw_key``) and, when the record has one,
its end user (``user_id``: the id's keyed hash, ``functions.interactions.pseudonyms``; indexed
for erasure). Every raw line lives in exactly the object its
item names: a retried batch merges into its earlier object, and a record another writer stored
first is taken out of ours. An erased record's item is a tombstone, which counts as stored."""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from functions.common.clients import client, region
from functions.common.contract import sample_partition, served_sk, settings, shard_pk
from functions.common.exceptions import NotFoundError
from functions.common.repositories import from_dynamo, to_dynamo
from functions.interactions.raw import JsonLinesObjects, Line, raw_key
from functions.interactions.sample import rank_of
from functions.interactions.shards import shard_of
from functions.interactions.windows import FLAG_PREFIX, window_sk

GROUP_PREFIX = "group#"  # served aggregates: group#<value>#n and group#<value>#good

TRANSACTION_LIMIT = 100  # DynamoDB's limit of actions per TransactWriteItems
_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize


@dataclass(frozen=True)
class NewInteraction:
    """One scored record ready to store; ``raw`` is the JSON line written to S3, under ``day``."""

    request_id: str
    model: str
    window: str
    item: dict[str, Any]
    raw: dict[str, Any]
    quality: float
    exact_match: int | None
    flags: tuple[str, ...]
    day: str = ""
    adapter_version: int | None = None  # the adapter that served it, as the app reported
    group: str | None = None  # its group of the gate's protected attribute (metadata), if declared
    good: bool = False  # quality at least the gate's good_quality (the disparate-impact guard's rate)


@dataclass(frozen=True)
class Stored:
    """What ingest needs to know of an already stored ``request_id``."""

    raw_key: str | None  # None on items stored before items named their raw object
    erased: bool

    def owns(self, key: str) -> bool:
        """Whether a line of this record in object ``key`` is the one to keep."""
        return not self.erased and self.raw_key in (key, None)


class InteractionStore:
    def __init__(self, *, dynamodb: Any, s3: Any, interactions_table: str, state_table: str, raw_bucket: str) -> None:
        self.dynamodb = dynamodb
        self.s3 = s3
        self.interactions_table = interactions_table
        self.state_table = state_table
        self.raw_bucket = raw_bucket
        self.raw = JsonLinesObjects(s3, raw_bucket)

    # -- ingest ----------------------------------------------------------------------------
    def _batch_get(self, request_ids: list[str], projection: str) -> Iterator[dict[str, Any]]:
        for start in range(0, len(request_ids), 100):
            keys = [{"request_id": {"S": rid}} for rid in request_ids[start:start + 100]]
            request = {self.interactions_table: {"Keys": keys, "ProjectionExpression": projection}}
            while request:
                response = self.dynamodb.batch_get_item(RequestItems=request)
                yield from response["Responses"].get(self.interactions_table, [])
                request = response.get("UnprocessedKeys") or {}

    def lookup(self, request_ids: list[str]) -> dict[str, Stored]:
        """The stored ones of ``request_ids`` (tombstones of erased records included)."""
        items = self._batch_get(request_ids, "request_id, raw_key, erased_at")
        return {item["request_id"]["S"]: Stored(raw_key=item.get("raw_key", {}).get("S"), erased="erased_at" in item)
                for item in items}

    def feedback_of(self, request_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The stored feedback of each of ``request_ids`` that has some."""
        return {item["request_id"]["S"]: from_dynamo(_deserialize(item["feedback"]))
                for item in self._batch_get(request_ids, "request_id, feedback") if "feedback" in item}

    def write_raw(self, candidates: list[NewInteraction], stored: dict[str, Stored]) -> dict[str, str]:
        """Writes the records not ``stored`` yet: one JSON Lines object per (model, day) of the batch,
        keyed by a hash of the batch's request ids there, so a retry lands on the same object. When
        part of that batch is stored already (a retry after a failure between S3 and DynamoDB),
        the object is merged: it keeps the lines its stored items own (never an erased one) and
        takes the fresh ones, instead of a second copy elsewhere. Returns each fresh id's key."""
        groups: dict[tuple[str, str], list[NewInteraction]] = defaultdict(list)
        for record in candidates:
            groups[(record.model, record.day)].append(record)
        keys: dict[str, str] = {}
        for (model, day), group in sorted(groups.items()):
            fresh = [r for r in group if r.request_id not in stored]
            if not fresh:
                continue
            key = raw_key(model, day, [r.request_id for r in group])
            lines = [r.raw for r in fresh]
            if len(fresh) == len(group):  # nothing of this batch stored: any earlier copy is ours to replace
                self.raw.put(key, lines)
            else:
                ids = {r.request_id for r in fresh}

                def merge(before: list[Line], key: str = key, ids: set[str] = ids,
                          lines: list[Line] = lines) -> list[Line]:
                    kept = [line for line in before if line["request_id"] not in ids
                            and line["request_id"] in stored and stored[line["request_id"]].owns(key)]
                    return kept + lines

                self.raw.edit(key, merge)
            keys.update((r.request_id, key) for r in fresh)
        return keys

    def settle_raw(self, raw_keys: dict[str, str], lost: list[str]) -> None:
        """Records a concurrent writer stored first keep only the line their item points to."""
        if not lost:
            return
        stored = self.lookup(lost)
        extra: dict[str, set[str]] = defaultdict(set)
        for request_id in lost:
            if request_id not in stored or not stored[request_id].owns(raw_keys[request_id]):
                extra[raw_keys[request_id]].add(request_id)
        for key, ids in sorted(extra.items()):
            self.raw.edit(key, partial(_without, ids))

    def insert(self, records: list[NewInteraction], raw_keys: dict[str, str]) -> set[str]:
        """Inserts the records that are not stored yet (an erased record's tombstone counts as
        stored); returns the request ids it inserted."""
        inserted: set[str] = set()
        for chunk in _chunks(records):
            pending = list(chunk)
            while pending:
                try:
                    self.dynamodb.transact_write_items(TransactItems=self._actions(pending, raw_keys))
                except ClientError as error:
                    if error.response["Error"]["Code"] != "TransactionCanceledException":
                        raise
                    reasons = error.response.get("CancellationReasons") or []
                    lost = {pending[i].request_id for i, r in enumerate(reasons[:len(pending)])
                            if r.get("Code") == "ConditionalCheckFailed"}
                    if not lost:
                        raise
                    # A concurrent writer stored these first: they are duplicates now.
                    pending = [r for r in pending if r.request_id not in lost]
                    continue
                inserted.update(r.request_id for r in pending)
                pending = []
        return inserted

    def _actions(self, records: list[NewInteraction], raw_keys: dict[str, str]) -> list[dict[str, Any]]:
        actions: list[dict[str, Any]] = [{
            "Put": {
                "TableName": self.interactions_table,
                "Item": {k: _serialize(v) for k, v in to_dynamo({**r.item, **_sample_keys(r),
                                                                  "raw_key": raw_keys[r.request_id]}).items()},
                "ConditionExpression": "attribute_not_exists(request_id)",
            }
        } for r in records]
        windows: dict[tuple[str, str, int], list[NewInteraction]] = defaultdict(list)
        served: dict[tuple[str, int, int], list[NewInteraction]] = defaultdict(list)
        for record in records:
            windows[(record.model, record.window, shard_of(record.request_id))].append(record)
            if record.adapter_version is not None:
                served[(record.model, record.adapter_version, shard_of(record.request_id))].append(record)
        for (model, window, shard), group in sorted(windows.items()):
            values: dict[str, Any] = {
                ":n": len(group),
                ":q": sum(r.quality for r in group),
                ":ref": sum(1 for r in group if r.exact_match is not None),
                ":em": sum(r.exact_match or 0 for r in group),
                ":start": window,
                ":model": model,
            }
            adds = ["n :n", "sum_quality :q", "n_reference :ref", "sum_exact_match :em"]
            actions.append(self._add(shard_pk(model, shard), window_sk(window), group, adds, values,
                                     "SET #start = :start, model = :model", {"#start": "start"}))
        # The canary's arms: per adapter version, in the same transaction as the records.
        for (model, version, shard), group in sorted(served.items()):
            values = {":n": len(group), ":q": sum(r.quality for r in group),
                      ":qq": sum(r.quality * r.quality for r in group), ":model": model, ":v": version}
            adds = ["n :n", "sum_quality :q", "sum_sq_quality :qq"]
            names: dict[str, str] = {}
            # Per group of the protected attribute: interactions and good ones (group values are
            # arbitrary text, so their attribute names go through placeholders).
            groups = Counter(r.group for r in group if r.group is not None)
            for i, name in enumerate(sorted(groups)):
                names.update({f"#gn{i}": f"{GROUP_PREFIX}{name}#n", f"#gg{i}": f"{GROUP_PREFIX}{name}#good"})
                values.update({f":gn{i}": groups[name], f":gg{i}": sum(r.good for r in group if r.group == name)})
                adds += [f"#gn{i} :gn{i}", f"#gg{i} :gg{i}"]
            actions.append(self._add(shard_pk(model, shard), served_sk(version), group, adds, values,
                                     "SET model = :model, adapter_version = :v", names or None))
        return actions

    def _add(self, pk: str, sk: str, group: list[NewInteraction], adds: list[str], values: dict[str, Any],
             sets: str, names: dict[str, str] | None = None) -> dict[str, Any]:
        """One aggregate item's update: ``adds`` and a count per flag of ``group``."""
        counts: Counter[str] = Counter()
        for record in group:
            counts.update(FLAG_PREFIX + flag for flag in record.flags)
        adds, values = list(adds), dict(values)
        for i, (flag, count) in enumerate(sorted(counts.items())):
            adds.append(f"{flag} :f{i}")
            values[f":f{i}"] = count
        update: dict[str, Any] = {
            "TableName": self.state_table,
            "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
            "UpdateExpression": f"{sets} ADD " + ", ".join(adds),
            "ExpressionAttributeValues": {k: _serialize(v) for k, v in to_dynamo(values).items()},
        }
        if names:
            update["ExpressionAttributeNames"] = names
        return {"Update": update}

    # -- feedback --------------------------------------------------------------------------
    def get(self, request_id: str) -> dict[str, Any]:
        response = self.dynamodb.get_item(TableName=self.interactions_table, Key={"request_id": {"S": request_id}},
                                          ConsistentRead=True)
        if "Item" not in response or "erased_at" in response["Item"]:
            raise NotFoundError(f"no interaction with request_id {request_id!r}")
        return from_dynamo({k: _deserialize(v) for k, v in response["Item"].items()})

    def add_feedback(self, request_id: str, feedback: dict[str, Any], score: float) -> tuple[dict[str, Any], bool]:
        """Joins feedback to the stored interaction. The first feedback of a record also counts
        in its window; later feedback replaces the stored one without counting twice."""
        stored = self.get(request_id)
        set_feedback = {
            "TableName": self.interactions_table,
            "Key": {"request_id": {"S": request_id}},
            "UpdateExpression": "SET feedback = :f",
            "ExpressionAttributeValues": {":f": _serialize(to_dynamo(feedback))},
        }
        live = "attribute_exists(request_id) AND attribute_not_exists(erased_at)"  # not on an erased record
        first = {**set_feedback, "ConditionExpression": f"{live} AND attribute_not_exists(feedback)"}
        count = {"Update": {
            "TableName": self.state_table,
            "Key": {"pk": {"S": shard_pk(stored["model"], shard_of(request_id))},
                    "sk": {"S": window_sk(stored["window"])}},
            "UpdateExpression": "ADD feedback_n :one, sum_feedback :s",
            "ExpressionAttributeValues": {":one": {"N": "1"}, ":s": _serialize(to_dynamo(score))},
        }}
        actions = [{"Update": first}, count]
        if stored.get("adapter_version") is not None:  # the canary's arm of the version that served it
            actions.append({"Update": {
                "TableName": self.state_table,
                "Key": {"pk": {"S": shard_pk(stored["model"], shard_of(request_id))},
                        "sk": {"S": served_sk(int(stored["adapter_version"]))}},
                "UpdateExpression": "ADD feedback_n :one, sum_feedback :s, sum_sq_feedback :ss",
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":s": _serialize(to_dynamo(score)),
                                              ":ss": _serialize(to_dynamo(score * score))},
            }})
        try:
            self.dynamodb.transact_write_items(TransactItems=actions)
            return stored, True
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
        try:
            self.dynamodb.update_item(**set_feedback, ConditionExpression=live)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            raise NotFoundError(f"no interaction with request_id {request_id!r}") from None
        return stored, False


def _sample_keys(record: NewInteraction) -> dict[str, Any]:
    """Where the record sits in the sample index: its window shard, and its rank there."""
    shard = shard_of(record.request_id)
    return {"sample_pk": sample_partition(record.model, record.window, shard),
            "sample_rank": rank_of(record.request_id)}


def _chunks(records: list[NewInteraction]) -> list[list[NewInteraction]]:
    """Splits records so that each transaction's items plus its aggregate updates (window shards and
    served-version shards) fit the limit."""
    chunks: list[list[NewInteraction]] = []
    current: list[NewInteraction] = []
    aggregates: set[tuple[str, str, int]] = set()
    for record in records:
        shard = shard_of(record.request_id)
        keys = {(record.model, record.window, shard)}
        if record.adapter_version is not None:
            keys.add((record.model, served_sk(record.adapter_version), shard))
        if current and len(current) + 1 + len(aggregates | keys) > TRANSACTION_LIMIT:
            chunks.append(current)
            current, aggregates = [], set()
        current.append(record)
        aggregates |= keys
    if current:
        chunks.append(current)
    return chunks


@lru_cache(maxsize=8)
def _build(region_name: str | None, interactions_table: str, state_table: str, raw_bucket: str) -> InteractionStore:
    return InteractionStore(
        dynamodb=client("dynamodb"),
        s3=client("s3"),
        interactions_table=interactions_table, state_table=state_table, raw_bucket=raw_bucket,
    )


def _without(ids: set[str], lines: list[Line]) -> list[Line]:
    """The lines of the records other than ``ids``."""
    return [line for line in lines if line["request_id"] not in ids]


def interaction_store() -> InteractionStore:
    return _build(region(), settings.interactions_table, settings.state_table, settings.raw_bucket)
