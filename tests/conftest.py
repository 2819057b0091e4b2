"""Shared test set-up: offline model hubs, quiet jsii, fake AWS credentials for moto, one
synthesized template for every local-mode test, the served API, and the real records of
../shared/data as files (``read_records``, ``write_jsonl``)."""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from driftgate.heap import keep_freed_memory

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

keep_freed_memory()  # tests train on the CPU in-process (the tiny base, tests/finetune)

ALPACA = ("alpaca_eval", "Mixtral-8x7B-Instruct-v0.1.jsonl")
GSM8K = ("gsm8k", "test.jsonl")


def read_records(*parts: str, limit: int | None = None, start: int = 0) -> list[dict[str, Any]]:
    from driftgate.paths import data_dir

    path = data_dir().joinpath(*parts)
    if not path.is_file():
        pytest.fail(f"shared data missing: {path} (see ../shared/data/README.md)")
    with path.open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    return records[start : start + limit if limit else None]


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


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


@contextmanager
def serving(stack: Any) -> Iterator[str]:
    """``driftgate serve``'s HTTP server on loopback, in front of ``stack``: its base URL."""
    from driftgate.local.server import make_server

    server = make_server(stack, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def base_url(local: Any) -> Iterator[str]:
    """``driftgate serve``'s HTTP server on loopback, in front of the test's local stack."""
    with serving(local) as url:
        yield url
