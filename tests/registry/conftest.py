"""The registry on the stack's real state table in moto, and the version records the tests register."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from functions.registry.store import Registry


@pytest.fixture
def registry(local: Any) -> Iterator[Registry]:
    from functions.registry.store import registry as make_registry

    with local.environment("FinishRun"):
        yield make_registry()


def version_record(n: int, decision: str = "promote") -> dict:
    return {"s3_uri": f"s3://artifacts/adapters/m/{n}/", "sha256": f"{n:064x}", "base_model": "tiny",
            "gate": {"decision": decision}, "approval": "pending", "execution_arn": f"arn:exec:{n}"}
