"""The one way handlers get boto3 clients: one per (service, region), with the shared retry
configuration, built when first asked for (so moto or the local mode is running by then) and
reused by every repository of a warm Lambda."""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

# Standard mode: backoff with jitter on throttles. Not adaptive: its client-side rate limiter
# would keep slowing every later call of a warm container after one throttling burst. Sixteen
# pooled connections: PrepareDataset reads raw objects sixteen at a time (botocore keeps ten).
AWS_RETRIES = Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=16)


def region() -> str | None:
    """The function's region, which the Lambda runtime sets (the local mode does too)."""
    return os.environ.get("AWS_REGION")


@lru_cache(maxsize=32)
def _client(service: str, region_name: str | None) -> Any:
    return boto3.client(service, region_name=region_name, config=AWS_RETRIES)


@lru_cache(maxsize=8)
def _resource(service: str, region_name: str | None) -> Any:
    return boto3.resource(service, region_name=region_name, config=AWS_RETRIES)


def client(service: str) -> Any:
    return _client(service, region())


def dynamodb_table(name: str) -> Any:
    return _resource("dynamodb", region()).Table(name)
