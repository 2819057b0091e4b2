"""One sample history per session (moto, real AlpacaEval texts), collected and rendered once."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from functions.common.repositories import StateRepository
from tests.report.sample import create_state_table, snapshot


@pytest.fixture(scope="session")
def sample_data() -> dict[str, Any]:
    return snapshot()


@pytest.fixture(scope="session")
def sample_html(sample_data: dict[str, Any]) -> str:
    from driftgate.report import render_report

    return render_report(sample_data)


@pytest.fixture
def state() -> Iterator[StateRepository]:
    """An empty state table, for tests that write their own items."""
    with mock_aws():
        yield create_state_table()
