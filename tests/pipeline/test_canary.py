"""The canary on the local stack (rollout=canary), end to end: a version that passes the offline gate
becomes ``staging``; real AlpacaEval answers, each unit's arm chosen by the serving route and its
version reported as ``adapter_version``, go through the API while the synthesized state machine
loops Wait → CheckCanary; the always-valid test promotes a better staging and rolls back a worse one.

One stack for the module, as the retrain tests do: v1 (quick training on GSM8K) is staged against
the base model (version 0) and promoted; new data trains v2, staged against v1 and rolled back.
Both arms are scored against GPT-4-turbo's answers (the records' references): Mixtral-8x7B's mean
quality is 0.269 there, alpaca-7b's 0.143 (benchmarks/README.md: decided in ~68 interactions at a
0.5 share). Runs are started with fixed names: the name is the canary id the assignment hashes with,
so the same units land on the same arms every time."""
from __future__ import annotations

import time
from typing import Any

import boto3
import pytest

from driftgate.local import local_stack
from driftgate.local.deployment import REGION
from driftgate.local.profile import local_training_context
from driftgate.testing import live_canary
from driftgate.testing.canary import ALPACA, MIXTRAL
from driftgate.testing.realdata import gsm8k_records, ingest

MODEL = "support-bot"
SHARE = 0.5
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tiny_base):
    context = local_training_context(tiny_base, quick=True, **{
        "driftgate:rollout": "canary", "driftgate:canary_share": SHARE, "driftgate:canary_wait_seconds": 1,
        "driftgate:canary_max_hours": 0.5, "driftgate:cooldown_hours": 0})  # a look a second, at most 1,800
    with local_stack(context=context) as deployment:
        yield deployment


def table(stack) -> Any:
    return boto3.resource("dynamodb", region_name=REGION).Table(stack.find("AWS::DynamoDB::Table", "StorageState"))


def running(stack, execution_arn: str) -> bool:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    return sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING"


def staged(stack, execution_arn: str, version: int, timeout_s: float = 600) -> dict[str, Any]:
    """Waits until the run has staged ``version`` and its canary runs; returns the canary item.
    (Read from the table: the run's handlers hold the local functions meanwhile.)"""
    deadline = time.monotonic() + timeout_s
    while True:
        item = table(stack).get_item(Key={"pk": f"MODEL#{MODEL}", "sk": f"CANARY#{version:06d}"},
                                     ConsistentRead=True).get("Item")
        if item and item["status"] == "running":
            return item
        assert running(stack, execution_arn), "the run ended before its canary started"
        assert time.monotonic() < deadline, "the run never staged the version"
        time.sleep(0.5)


def alias(stack, name: str) -> dict[str, Any] | None:
    with stack.environment("Promote"):
        from functions.registry.store import registry

        return registry().alias(MODEL, name)  # type: ignore[arg-type]


def served(stack, version: int) -> dict[str, Any]:
    with stack.environment("CheckCanary"):
        from functions.common.repositories import repositories
        from functions.interactions.shards import served as served_sums

        return served_sums(repositories().state, MODEL, version)


def test_a_better_staging_version_is_promoted_by_the_canary(stack) -> None:
    assert ingest(stack, gsm8k_records(48, model=MODEL, day="2026-11-20")) == 48
    execution = stack.start_execution({"model": MODEL, "reason": "first adapter"}, name="canary-promote")
    canary = staged(stack, execution, 1)
    assert (int(canary["control_version"]), canary["canary_id"], float(canary["share"])) == (0, "canary-promote", SHARE)
    assert alias(stack, "staging")["version"] == 1 and alias(stack, "production") is None

    traffic = live_canary.replay(stack, MODEL, staging=MIXTRAL, production=ALPACA, indices=range(805),
                                 prefix="promote", stop=lambda: not running(stack, execution))
    result = stack.wait(execution, timeout_s=120)

    assert result.status == "SUCCEEDED" and result.output["status"] == "PROMOTED", (result.error, result.cause)
    states = result.states
    assert states.index("Register") < states.index("StartCanary") < states.index("WaitForTraffic") \
        < states.index("CheckCanary") < states.index("Promote")
    decision = result.output["canary"]
    assert decision["decision"] == "promote" and decision["ci"][0] > 0.01, decision
    assert decision["n_control"] >= 30 and decision["n_treatment"] >= 30 and decision["looks"] == \
        states.count("CheckCanary")
    # Staging served version 1; production the base (0) until the promotion, then 1 (a batch in flight).
    assert traffic.versions["staging"] == {1} and 0 in traffic.versions["production"] <= {0, 1}
    assert traffic.n(1) >= decision["n_treatment"] and traffic.n(0) >= decision["n_control"]
    # The per-version aggregates hold exactly what was sent (ingest's transaction, every shard summed).
    for version in (0, 1):
        sums = served(stack, version)
        assert sums["n"] == traffic.n(version)
        assert sums["sum_quality"] == pytest.approx(sum(traffic.quality[version]))
    assert alias(stack, "production")["version"] == 1 and alias(stack, "staging") is None
    shown = stack.api("GET", f"/v1/models/{MODEL}/canary").json()
    assert (shown["status"], shown["decision"], shown["looks"]) == ("promoted", "promote", decision["looks"])
    version = stack.api("GET", f"/v1/models/{MODEL}/adapters").json()["versions"][0]
    assert version["canary"]["status"] == "promoted" and version["canary"]["decision"]["decision"] == "promote"
    # The canary is over: every unit is served production.
    serving = stack.api("GET", f"/v1/models/{MODEL}/adapters/serving", query={"unit": "promote-user-000"}).json()
    assert (serving["arm"], serving["version"], serving["canary_id"]) == ("production", 1, None)


def test_a_worse_staging_version_is_rolled_back_and_production_stays(stack) -> None:
    assert ingest(stack, gsm8k_records(48, start=48, model=MODEL, day="2026-11-21")) == 48
    execution = stack.start_execution({"model": MODEL, "reason": "new data"}, name="canary-rollback")
    canary = staged(stack, execution, 2)
    assert int(canary["control_version"]) == 1 and alias(stack, "staging")["version"] == 2
    before = served(stack, 1)  # v1's interactions as staging in the first canary are not this one's

    traffic = live_canary.replay(stack, MODEL, staging=ALPACA, production=MIXTRAL, indices=range(805),
                                 prefix="rollback", stop=lambda: not running(stack, execution))
    result = stack.wait(execution, timeout_s=120)

    assert result.status == "SUCCEEDED" and result.output["status"] == "ROLLED_BACK", (result.error, result.cause)
    assert "RetireCanary" in result.states and "Promote" not in result.states
    decision = result.output["canary"]
    assert decision["decision"] == "rollback" and decision["ci"][1] < 0, decision
    assert traffic.versions == {"production": {1}, "staging": {2}}
    # The control arm is v1's interactions since the canary started, not its earlier ones.
    assert decision["n_control"] <= traffic.n(1) == served(stack, 1)["n"] - before["n"]
    assert decision["n_treatment"] <= traffic.n(2) == served(stack, 2)["n"]
    assert result.output["retired"] == {"version": 2, "status": "rolled_back", "production_version": 1}
    assert alias(stack, "production")["version"] == 1 and alias(stack, "staging") is None
    shown = stack.api("GET", f"/v1/models/{MODEL}/canary").json()
    assert (shown["version"], shown["status"], shown["decision"]) == (2, "rolled_back", "rollback")
    assert shown["ci"][1] < 0 and shown["mean_treatment"] < shown["mean_control"]


def test_the_report_shows_each_canary_with_its_looks(stack) -> None:
    from driftgate.report import collect_report_data, render_report

    with stack.environment("ApiHandler"):
        from functions.common.repositories import repositories

        data = collect_report_data(repositories().state, MODEL)
    rolled_back, promoted = data["canaries"]  # newest first
    assert [(c["version"], c["status"]) for c in (rolled_back, promoted)] == [(2, "rolled_back"), (1, "promoted")]
    for canary in (rolled_back, promoted):
        looks = canary["looks"]
        assert looks and [look["n_treatment"] for look in looks] == sorted(look["n_treatment"] for look in looks)
        assert looks[-1]["decision"] == canary["decision"]["decision"] and looks[-1]["ci"] == canary["decision"]["ci"]
    html = render_report(data)
    for version, canary in ((2, rolled_back), (1, promoted)):
        arms = html.split(f'id="chart-canary-{version}-arms"')[1].split("</svg>")[0]
        assert arms.count("<circle") >= len(canary["looks"])  # a production point per look
        assert f'id="chart-canary-{version}-test"' in html
    assert "rolled_back" in html and "Canary of version 1 (canary-promote)" in html
