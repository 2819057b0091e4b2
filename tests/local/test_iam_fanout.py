"""The fan-out's grants are what its local run needs (tests/monitor/test_fanout.py runs it with IAM
enforced), and each is needed: without it the local stack refuses the call where AWS would."""
from __future__ import annotations

import pytest

from driftgate.local import local_stack
from driftgate.local.template import synthesize
from driftgate.testing.realdata import gsm8k_records, ingest
from tests.local.test_iam_enforced import without_action

MODEL = "support-bot"


@pytest.fixture(scope="module")
def template() -> dict:
    return synthesize({"driftgate:min_window_samples": 10, "driftgate:min_training_records": 100000})


def with_baseline_and_window(stack) -> None:
    assert ingest(stack, gsm8k_records(12, model=MODEL, day="2026-11-20")) == 12
    assert stack.api("POST", f"/v1/models/{MODEL}/baseline").status == 200
    assert ingest(stack, gsm8k_records(12, start=12, model=MODEL, day="2026-11-21")) == 12


@pytest.mark.parametrize("action", ["dynamodb:Query", "lambda:InvokeFunction"])
def test_the_dispatcher_needs_its_query_and_invoke_grants(template, action: str) -> None:
    with local_stack(without_action(template, "DriftDispatchRole", action)) as stack:
        with_baseline_and_window(stack)
        denied = rf"(?s)DriftDispatch\w* failed: .*AccessDenied.*not authorized to perform: {action}"
        with pytest.raises(RuntimeError, match=denied):
            stack.fire_schedule()
        assert not any(lid.startswith("DriftCheck") for lid, _ in stack.dispatcher.invocations)


def test_the_check_needs_its_put_grant_for_the_baseline_vectors(template) -> None:
    with local_stack(without_action(template, "DriftCheckRole", "s3:PutObject")) as stack:
        with_baseline_and_window(stack)
        with pytest.raises(RuntimeError, match=r"(?s)DriftCheck\w* failed .*AccessDenied.*PutObject"):
            stack.fire_schedule()
