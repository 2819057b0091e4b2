"""Shared test set-up: offline model hubs, quiet jsii, fake AWS credentials for moto, and one
synthesized template for every local-mode test."""
from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20,22")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# moto needs credentials to sign with; never real ones.
for key, value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ[key] = value


@pytest.fixture(scope="session")
def synthesized_template() -> dict[str, Any]:
    from driftgate.local.template import synthesize

    return synthesize()


@pytest.fixture
def local(synthesized_template: dict[str, Any]) -> Iterator[Any]:
    """A fresh local stack (moto state is per test)."""
    from driftgate.local import local_stack

    with local_stack(synthesized_template) as deployment:
        yield deployment


@pytest.fixture(scope="session")
def tiny_base():
    """The tiny Llama-shaped base model the local pipeline trains on (built once, cached)."""
    from driftgate.paths import data_dir, tiny_base_cache
    from finetune.base_model import baseline_records, build_tiny_base

    return build_tiny_base(tiny_base_cache(), baseline_records(data_dir()))
