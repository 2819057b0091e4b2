"""DynamoDB transactions in the local mode are all-or-nothing, as in AWS, with the item-level
rollback that replaced moto's whole-table snapshot (driftgate.local.atomicity)."""
from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from driftgate.local.deployment import REGION


@pytest.fixture
def table(local):
    return boto3.client("dynamodb", region_name=REGION), local.find("AWS::DynamoDB::Table", "StorageState")


def _item(client, name: str, pk: str, sk: str) -> dict | None:
    return client.get_item(TableName=name, Key={"pk": {"S": pk}, "sk": {"S": sk}}).get("Item")


def test_a_cancelled_transaction_leaves_every_item_it_named_as_it_was(table) -> None:
    client, name = table
    client.put_item(TableName=name, Item={"pk": {"S": "T"}, "sk": {"S": "kept"}, "n": {"N": "1"}})
    client.put_item(TableName=name, Item={"pk": {"S": "T"}, "sk": {"S": "deleted"}, "n": {"N": "2"}})
    before = client.scan(TableName=name)["Items"]

    with pytest.raises(ClientError) as raised:
        client.transact_write_items(TransactItems=[
            {"Put": {"TableName": name, "Item": {"pk": {"S": "T"}, "sk": {"S": "new"}}}},
            {"Update": {"TableName": name, "Key": {"pk": {"S": "T"}, "sk": {"S": "kept"}},
                        "UpdateExpression": "SET n = n + :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}},
            {"Delete": {"TableName": name, "Key": {"pk": {"S": "T"}, "sk": {"S": "deleted"}}}},
            {"ConditionCheck": {"TableName": name, "Key": {"pk": {"S": "T"}, "sk": {"S": "absent"}},
                                "ConditionExpression": "attribute_exists(pk)"}},
        ])

    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert _item(client, name, "T", "new") is None
    assert _item(client, name, "T", "kept")["n"] == {"N": "1"}
    assert _item(client, name, "T", "deleted")["n"] == {"N": "2"}
    assert sorted(map(str, client.scan(TableName=name)["Items"])) == sorted(map(str, before))


def test_a_transaction_that_passes_applies_every_operation(table) -> None:
    client, name = table
    client.put_item(TableName=name, Item={"pk": {"S": "T"}, "sk": {"S": "kept"}, "n": {"N": "1"}})
    client.transact_write_items(TransactItems=[
        {"Put": {"TableName": name, "Item": {"pk": {"S": "T"}, "sk": {"S": "new"}},
                 "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Update": {"TableName": name, "Key": {"pk": {"S": "T"}, "sk": {"S": "kept"}},
                    "UpdateExpression": "SET n = n + :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}},
    ])
    assert _item(client, name, "T", "new") is not None
    assert _item(client, name, "T", "kept")["n"] == {"N": "2"}


def test_naming_one_item_twice_is_refused_and_changes_nothing(table) -> None:
    client, name = table
    client.put_item(TableName=name, Item={"pk": {"S": "T"}, "sk": {"S": "kept"}, "n": {"N": "1"}})
    with pytest.raises(ClientError):
        client.transact_write_items(TransactItems=[
            {"Update": {"TableName": name, "Key": {"pk": {"S": "T"}, "sk": {"S": "kept"}},
                        "UpdateExpression": "SET n = :five", "ExpressionAttributeValues": {":five": {"N": "5"}}}},
            {"Delete": {"TableName": name, "Key": {"pk": {"S": "T"}, "sk": {"S": "kept"}}}},
        ])
    assert _item(client, name, "T", "kept")["n"] == {"N": "1"}
