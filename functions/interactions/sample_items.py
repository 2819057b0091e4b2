"""Sample items of the state table (a window shard's bottom-k sample, or a frozen baseline's),
read and written with optimistic concurrency: each write names the ``version`` it read, so an
ingest and an erasure that read the same sample cannot overwrite each other's change."""
from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from functions.common.repositories import from_dynamo, to_dynamo
from functions.interactions.sample import BottomK, stored_sample

_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize


class SampleItems:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self.dynamodb = dynamodb
        self.table = table

    def read(self, pk: str, sk: str) -> tuple[BottomK | None, int, dict[str, Any]]:
        """(the sample or None, the version read: 0 when absent, the item's other attributes)."""
        item = self.dynamodb.get_item(TableName=self.table, Key={"pk": {"S": pk}, "sk": {"S": sk}},
                                      ConsistentRead=True).get("Item")
        if not item:
            return None, 0, {}
        plain = from_dynamo({k: _deserialize(v) for k, v in item.items() if k not in ("pk", "sk")})
        sample = stored_sample(plain)
        plain.pop("state", None)
        plain.pop("sample", None)
        # A frozen baseline's sample has version 0 until an erasure first changes it.
        return sample, int(plain.pop("version", 0)), plain

    def write(self, pk: str, sk: str, sample: BottomK, read_version: int, **attributes: Any) -> bool:
        """Stores ``sample`` if the item is still at ``read_version``; False when another writer
        changed it first."""
        condition: dict[str, Any] = {"ConditionExpression": "#v = :v" if read_version else "attribute_not_exists(#v)",
                                     "ExpressionAttributeNames": {"#v": "version"}}
        if read_version:
            condition["ExpressionAttributeValues"] = {":v": {"N": str(read_version)}}
        values = {**attributes, "sample": sample.to_json(), "version": read_version + 1}
        item = {"pk": {"S": pk}, "sk": {"S": sk}, **{k: _serialize(v) for k, v in to_dynamo(values).items()}}
        try:
            self.dynamodb.put_item(TableName=self.table, Item=item, **condition)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True
