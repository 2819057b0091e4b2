"""The right to explanation's one new grant, enforced locally: PrepareDataset marks the records a
training set used with dynamodb:UpdateItem on the interactions table, and may do nothing else to
an interaction (no Put, no Delete). Without the grant the task fails where AWS would refuse it,
and nothing is marked. (The explanation route itself needs no new grant: the API's reads of the
interactions and state tables, the raw bucket and the sample index are granted for ingest and
erasure; tests/api/test_explanation.py runs it under the same enforcement.)"""
from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from driftgate.local import local_stack
from driftgate.local.deployment import REGION
from driftgate.testing.realdata import gsm8k_records, ingest
from tests.api.test_explanation import with_env
from tests.local.test_iam_enforced import without_action

MODEL = "support-bot"


def test_prepare_dataset_marks_with_update_item_and_nothing_else(synthesized_template) -> None:
    template = with_env(synthesized_template, "PrepareDataset", MIN_TRAINING_RECORDS="2")
    with local_stack(without_action(template, "PrepareDatasetRole", "dynamodb:UpdateItem")) as stack:
        records = gsm8k_records(6, model=MODEL)
        assert ingest(stack, records) == 6
        with pytest.raises(RuntimeError, match=r"(?s)PrepareDataset failed: .*UpdateItem.*"
                                               r"AccessDenied.*not authorized to perform: dynamodb:UpdateItem"):
            stack.invoke("PrepareDataset", {"model": MODEL, "run_id": "iam-run"})
        table = stack.find("AWS::DynamoDB::Table", "StorageInteractions")
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        items = dynamodb.scan(TableName=table)["Items"]
        assert len(items) == 6 and not any("training_sets" in item for item in items)

        # Only UpdateItem was taken out: Put and Delete of an interaction were never granted.
        role = stack.identities.role(stack.function("PrepareDataset").role_arn)
        key = {"request_id": {"S": records[0]["request_id"]}}
        with stack.identities.acting_as(role):
            for call in (lambda: dynamodb.put_item(TableName=table, Item=key),
                         lambda: dynamodb.delete_item(TableName=table, Key=key)):
                with pytest.raises(ClientError, match="AccessDenied"):
                    call()
