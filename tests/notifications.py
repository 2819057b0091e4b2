"""An SQS queue subscribed to the stack's notification topic: what an operator would receive."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3

from driftgate.local.deployment import REGION


def subscribe_inbox(stack: Any, name: str = "operators") -> Callable[[], list[dict]]:
    """Returns ``receive()``: the notification messages (parsed JSON) delivered since the last call."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns", region_name=REGION).subscribe(
        TopicArn=stack.find("AWS::SNS::Topic", "Notifications"), Protocol="sqs", Endpoint=arn)

    def receive() -> list[dict]:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return [json.loads(json.loads(m["Body"])["Message"]) for m in messages]

    return receive
