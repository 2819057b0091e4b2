"""The canary's routes and tasks on the local stack, without a training run: a registered version is
staged by the real StartCanary handler (invoked through moto's Lambda, IAM enforced); the serving
route splits units by the assignment hash; real records sent with the version that served them
build the per-version aggregates CheckCanary reads (a retried batch adds nothing); an operator's
abort stops the split at once and the next look answers ``aborted``; RetireCanary clears staging."""
from __future__ import annotations

from typing import Any

import pytest

from driftgate.testing import live_canary
from driftgate.testing.canary import ALPACA, MIXTRAL
from functions.canary.assignment import assign

MODEL = "support-bot"
CANARY_ID = "routes-1"
EXECUTION = f"arn:aws:states:us-east-1:123456789012:execution:Retrain:{CANARY_ID}"
SHARE = 0.1  # the stack's default canary_share


def register(local, n: int = 1) -> None:
    with local.environment("Register"):
        from functions.registry.store import registry

        registry().register(MODEL, {"s3_uri": f"s3://a/{n}/model.tar.gz", "sha256": f"{n:064x}", "base_model": None,
                                    "gate": {"decision": "promote"}, "approval": "not-applicable",
                                    "execution_arn": EXECUTION})


def served(local, version: int) -> dict[str, Any]:
    with local.environment("CheckCanary"):
        from functions.common.repositories import repositories
        from functions.interactions.shards import served as served_sums

        return served_sums(repositories().state, MODEL, version)


def serving(local, unit: str) -> dict[str, Any]:
    response = local.api("GET", f"/v1/models/{MODEL}/adapters/serving", query={"unit": unit})
    assert response.status == 200, response.body
    return response.json()


def test_serving_splits_units_by_the_hash_and_an_abort_stops_the_canary(local) -> None:
    assert serving(local, "u")["version"] == 0  # nothing registered: the base model serves
    assert local.api("GET", f"/v1/models/{MODEL}/canary").status == 404
    register(local)
    started = local.invoke("StartCanary", {"model": MODEL, "version": 1, "execution_arn": EXECUTION})
    assert (started["control_version"], started["canary_id"], started["share"]) == (0, CANARY_ID, SHARE)
    assert local.invoke("StartCanary", {"model": MODEL, "version": 1, "execution_arn": EXECUTION}) == started

    units = [f"u{i}" for i in range(300)]
    arms = {unit: serving(local, unit)["arm"] for unit in units}
    assert all(arms[u] == ("staging" if assign(MODEL, u, CANARY_ID, SHARE) == "treatment" else "production")
               for u in units)
    assert 0.05 < sum(a == "staging" for a in arms.values()) / len(units) < 0.15
    assert all(serving(local, u)["arm"] == arms[u] for u in units[:20])  # a unit keeps its arm
    shown = local.api("GET", f"/v1/models/{MODEL}/canary").json()
    assert (shown["status"], shown["looks"], shown["decision"]) == ("running", 0, None)

    traffic = live_canary.replay(local, MODEL, staging=MIXTRAL, production=ALPACA, indices=range(120),
                                 prefix="routes")
    assert traffic.versions == {"production": {0}, "staging": {1}}
    for version in (0, 1):
        sums = served(local, version)
        assert sums["n"] == traffic.n(version) and sums["sum_quality"] == pytest.approx(sum(traffic.quality[version]))
        assert sums["sum_sq_quality"] == pytest.approx(sum(q * q for q in traffic.quality[version]))
    # A retried batch (same request ids) is all duplicates and counts nothing twice.
    again = live_canary.replay(local, MODEL, staging=MIXTRAL, production=ALPACA, indices=range(20), prefix="routes")
    assert (again.duplicates, again.n(0), again.n(1)) == (20, 0, 0)
    assert served(local, 1)["n"] == traffic.n(1) and served(local, 0)["n"] == traffic.n(0)
    # Feedback counts on the version that served the record.
    staged = next(u for u, a in traffic.units.items() if a == "staging")
    request_id = f"routes:{staged.rsplit('-', 1)[1]}"
    assert local.api("POST", "/v1/feedback", {"request_id": request_id, "rating": 1}).status == 200
    assert (served(local, 1)["feedback_n"], served(local, 1)["sum_feedback"]) == (1, 1)

    look = local.invoke("CheckCanary", {"model": MODEL, "version": 1})
    assert look["decision"] == "continue" and look["looks"] == 1, look
    # The look's EMF: what the dashboard's canary widgets plot.
    emitted = [(name, {k: line[k] for k in directive["Dimensions"][0]}) for line in local.dispatcher.metrics
               for directive in line["_aws"]["CloudWatchMetrics"] for name in (m["Name"] for m in directive["Metrics"])]
    assert ("CanaryPValue", {"model": MODEL, "service": "driftgate"}) in emitted
    assert {d["arm"] for name, d in emitted if name == "CanaryArmSize"} == {"production", "staging"}
    assert (look["n_control"], look["n_treatment"]) == (traffic.n(0), traffic.n(1))
    shown = local.api("GET", f"/v1/models/{MODEL}/canary").json()
    assert (shown["looks"], shown["n_treatment"], shown["decision"]) == (1, traffic.n(1), "continue")
    assert shown["mean_treatment"] == pytest.approx(sum(traffic.quality[1]) / traffic.n(1))

    aborted = local.api("POST", f"/v1/models/{MODEL}/canary/abort")
    assert aborted.status == 200 and aborted.json()["status"] == "aborted", aborted.body
    assert aborted.json()["aborted_by"].endswith(":user/local")
    # The units staging served are served production from the abort on.
    assert {(serving(local, u)["arm"], serving(local, u)["canary_id"]) for u in units if arms[u] == "staging"} == {
        ("production", None)}
    assert local.api("POST", f"/v1/models/{MODEL}/canary/abort").status == 409

    look = local.invoke("CheckCanary", {"model": MODEL, "version": 1})
    assert look["decision"] == "aborted" and "aborted" in look["reason"], look
    retired = local.invoke("RetireCanary", {"model": MODEL, "version": 1, "decision": "aborted",
                                            "execution_arn": EXECUTION})
    assert retired == {"version": 1, "status": "retired", "production_version": None}
    with local.environment("Promote"):
        from functions.registry.store import registry

        assert registry().alias(MODEL, "staging") is None and registry().alias(MODEL) is None
        moves = registry().history(MODEL, "staging")
    assert [(m["from_version"], m["to_version"], m["reason"]) for m in moves] == [
        (None, 1, "canary"), (1, None, "retired")]
    version = local.api("GET", f"/v1/models/{MODEL}/adapters").json()["versions"][0]
    assert version["canary"]["status"] == "retired" and version["canary"]["decision"]["decision"] == "continue"
