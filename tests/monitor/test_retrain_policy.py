"""Retrain policies (``driftgate:retrain_policy``): the decision itself, then each policy through
the real scheduled check on the local stack, with real records. A healthy model (two disjoint
parts of one model's AlpacaEval answers) retrains under ``periodic`` once its period has passed,
and never under ``threshold``; a drifted one (GSM8K questions after AlpacaEval) retrains under
``both`` as a threshold breach. The single-flight guard and the cooldown hold under ``periodic``
too. Time passes by moving the stored start of the last run and the baseline's freeze back."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from driftgate.local import local_stack
from driftgate.local.deployment import REGION
from driftgate.testing.realdata import alpaca_records, gsm8k_records, ingest
from functions.common.contract import BASELINE_SK, model_pk
from functions.monitor.policy import decide
from functions.monitor.run_guard import guard_key

MODEL = "support-bot"
AT = datetime(2026, 11, 30, 12, tzinfo=UTC)
HEALTHY = "gpt4_1106_preview"
GUARD = guard_key(MODEL)["sk"]


@pytest.mark.parametrize(("policy", "breach", "last_days", "frozen_days", "fired"), [
    ("threshold", "drift", None, 30, ("threshold", "drift")),
    ("threshold", None, 30, 30, None),  # no breach: never, however long ago
    ("periodic", "drift", 2, 30, None),  # a breach is not a period: the last run was 2 days ago
    ("periodic", None, 8, 30, ("periodic", "periodic")),
    ("periodic", None, None, 8, ("periodic", "periodic")),  # never ran: counted from the freeze
    ("periodic", None, None, 6, None),
    ("periodic", None, 1, 30, None),  # the last run started yesterday: not due, however old the baseline
    ("both", "quality_decay", 1, 1, ("threshold", "quality_decay")),
    ("both", None, 7, 30, ("periodic", "periodic")),  # exactly the period
    ("both", None, 6.9, 30, None),
])
def test_decide(policy: str, breach: str | None, last_days: float | None, frozen_days: float,
                fired: tuple[str, str] | None) -> None:
    last = AT - timedelta(days=last_days) if last_days is not None else None
    decision = decide(policy, breach=breach, last_start=last, baseline_frozen=AT - timedelta(days=frozen_days),
                      at=AT, every_days=7)
    assert (decision.policy, decision.trigger) == fired if fired else decision is None
    if decision and decision.policy == "periodic":
        assert decision.reason and decision.reason.startswith("periodic: ") and "every 7 days" in decision.reason


def test_an_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="retrain policy must be one of"):
        decide("weekly", breach=None, last_start=None, baseline_frozen=AT, at=AT, every_days=7)


def _table(stack):
    return boto3.resource("dynamodb", region_name=REGION).Table(stack.function("DriftCheck").environment["STATE_TABLE"])


def _age(stack, sk: str, attribute: str, days: float) -> None:
    """Moves a state item's timestamp ``days`` back: the check then sees that much time gone."""
    stamp = (datetime.now(UTC) - timedelta(days=days)).isoformat()
    _table(stack).update_item(Key={"pk": model_pk(MODEL), "sk": sk}, UpdateExpression="SET #a = :t",
                      ExpressionAttributeNames={"#a": attribute}, ExpressionAttributeValues={":t": stamp})


def _guard(stack) -> dict:
    return _table(stack).get_item(Key=guard_key(MODEL))["Item"]


def _healthy(stack) -> None:
    assert ingest(stack, alpaca_records(HEALTHY, 60, model=MODEL, day="2026-11-20")) == 60
    assert stack.api("POST", f"/v1/models/{MODEL}/baseline").status == 200
    assert ingest(stack, alpaca_records(HEALTHY, 60, start=60, model=MODEL, day="2026-11-21")) == 60


def _check(stack) -> dict:
    (check,) = stack.fire_schedule()[0]["checks"]
    return check


@pytest.mark.slow  # embeds with the drift check's real model
def test_threshold_never_retrains_a_healthy_model_however_old_its_baseline(local) -> None:
    _healthy(local)
    _age(local, BASELINE_SK, "frozen_at", 400)
    check = _check(local)
    assert check["status"] == "healthy" and check["policy"] is None and check["reasons"] == []


@pytest.mark.slow  # embeds with the drift check's real model
def test_periodic_retrains_a_healthy_model_each_period_under_the_guard_and_cooldown() -> None:
    context = {"driftgate:retrain_policy": "periodic", "driftgate:retrain_every_days": 2,
               "driftgate:cooldown_hours": 1, "driftgate:min_training_records": 100000,
               "driftgate:monitored_models": [MODEL]}
    with local_stack(context=context) as stack:
        _healthy(stack)
        _age(stack, BASELINE_SK, "frozen_at", 3)  # never ran: the period counts from the freeze
        first = _check(stack)
        assert first["status"] == "breach-started" and first["policy"] == "periodic", first
        assert first["drift"]["prompt"]["drift"] is False and first["drift"]["output"]["drift"] is False
        assert first["reasons"] == ["periodic: baseline frozen 3.0 days ago >= every 2 days"]
        # The period is due again at once, but the run holds the guard (single flight)...
        _age(stack, GUARD, "started_at", 3)
        busy = _check(stack)
        result = stack.wait(first["execution_arn"])
        assert result.status == "SUCCEEDED" and result.output["status"] == "SKIPPED"
        assert result.output["reason"] == "periodic" and result.output["report"]["policy"] == "periodic"
        # ...and then the cooldown does (FinishRun set it: an hour, not the 12 h of a running claim).
        until = datetime.fromisoformat(_guard(stack)["busy_until"])
        assert timedelta(minutes=50) < until - datetime.now(UTC) <= timedelta(hours=1)
        cooling = _check(stack)
        for suppressed in (busy, cooling):
            assert suppressed["status"] == "breach-suppressed" and suppressed["policy"] == "periodic", suppressed
            assert "running or cooling down" in suppressed["detail"]

        _age(stack, GUARD, "busy_until", 1)  # the cooldown is over: the due period starts a run
        second = _check(stack)
        assert second["status"] == "breach-started", second
        assert second["reasons"] == ["periodic: last run started 3.0 days ago >= every 2 days"]
        assert stack.wait(second["execution_arn"]).status == "SUCCEEDED"
        executions = boto3.client("stepfunctions", region_name=REGION).list_executions(
            stateMachineArn=stack.state_machine_arn)["executions"]
        assert len(executions) == 2


@pytest.mark.slow  # embeds with the drift check's real model
def test_both_names_a_breach_threshold() -> None:
    context = {"driftgate:retrain_policy": "both", "driftgate:min_training_records": 100000,
               "driftgate:monitored_models": [MODEL]}
    with local_stack(context=context) as stack:
        assert ingest(stack, alpaca_records(HEALTHY, 60, model=MODEL, day="2026-11-20")) == 60
        assert stack.api("POST", f"/v1/models/{MODEL}/baseline").status == 200
        assert ingest(stack, gsm8k_records(60, model=MODEL, day="2026-11-21")) == 60
        check = _check(stack)
        assert check["status"] == "breach-started" and check["policy"] == "threshold", check
        assert not any(r.startswith("periodic") for r in check["reasons"])
        result = stack.wait(check["execution_arn"])
        assert result.output["reason"] in ("drift", "quality_decay")
        assert result.output["report"]["policy"] == "threshold"
