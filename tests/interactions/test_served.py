"""Per-version aggregates (what the canary compares) through the local API: each record that names
its ``adapter_version`` adds to that version's sums in its request id's shard, in the same
transaction as the record, so a retried batch adds nothing; feedback adds to the version that
served the record; records without a version count in no version."""
from __future__ import annotations

from typing import Any

import pytest

from driftgate.testing.realdata import alpaca_records

MODEL = "support-bot"


def served(local, version: int) -> dict[str, Any]:
    with local.environment("ApiHandler"):
        from functions.common.repositories import repositories
        from functions.interactions.shards import served as served_sums

        return served_sums(repositories().state, MODEL, version)


def shard_items(local, version: int) -> int:
    with local.environment("ApiHandler"):
        from functions.common.contract import served_sk, shard_pk
        from functions.common.repositories import repositories
        from functions.interactions.shards import shard_count

        state = repositories().state
        return sum(state.get(shard_pk(MODEL, s), served_sk(version)) is not None for s in range(shard_count()))


def test_each_version_sums_what_it_served_once(local) -> None:
    records = alpaca_records("Mixtral-8x7B-Instruct-v0.1", 60, model=MODEL)
    for i, record in enumerate(records):
        if i % 3:
            record["adapter_version"] = 1 + i % 3  # versions 2 and 3; every third names none
    response = local.api("POST", "/v1/interactions", {"interactions": records})
    assert response.status == 200 and response.json()["accepted"] == 60
    results = {r["request_id"]: r for r in response.json()["results"]}

    for version in (2, 3):
        mine = [results[r["request_id"]] for r in records if r.get("adapter_version") == version]
        sums = served(local, version)
        assert sums["n"] == len(mine) == 20
        assert sums["sum_quality"] == pytest.approx(sum(r["quality"] for r in mine))
        assert sums["sum_sq_quality"] == pytest.approx(sum(r["quality"] ** 2 for r in mine))
        flags = sum("refusal" in r["flags"] for r in mine)
        assert sums.get("flag_refusal", 0) == flags
        assert shard_items(local, version) > 1  # spread over shards, merged when read
    assert served(local, 1) == {"model": MODEL, "adapter_version": 1}

    again = local.api("POST", "/v1/interactions", {"interactions": records})
    assert again.json()["duplicates"] == 60
    assert served(local, 2)["n"] == 20 and served(local, 3)["n"] == 20

    two = next(r for r in records if r.get("adapter_version") == 2)
    none = next(r for r in records if "adapter_version" not in r)
    for request_id, rating in ((two["request_id"], 5), (two["request_id"], 1), (none["request_id"], 1)):
        assert local.api("POST", "/v1/feedback", {"request_id": request_id, "rating": rating}).status == 200
    sums = served(local, 2)
    # The first rating counts; a later one replaces it without counting twice.
    assert (sums["feedback_n"], sums["sum_feedback"], sums["sum_sq_feedback"]) == (1, 1, 1)
    assert "feedback_n" not in served(local, 3)


def test_groups_of_the_protected_attribute_are_counted_per_version() -> None:
    """With ``protected_attribute`` declared (driftgate:gate), each version also counts, per group,
    its interactions and the good ones (quality ≥ good_quality): the canary's disparate-impact guard."""
    from driftgate.local import local_stack
    from driftgate.testing.realdata import gsm8k_records, with_subject

    records = with_subject(gsm8k_records(80, model=MODEL))
    for i, record in enumerate(records):
        record["adapter_version"] = 1 + i % 2
    with local_stack(context={"driftgate:gate": {"protected_attribute": "subject"}}) as stack:
        response = stack.api("POST", "/v1/interactions", {"interactions": records})
        assert response.status == 200, response.body
        quality = {r["request_id"]: r["quality"] for r in response.json()["results"]}
        for version in (1, 2):
            mine = [r for r in records if r["adapter_version"] == version]
            sums = served(stack, version)
            with stack.environment("CheckCanary"):
                from functions.registry.canaries import arm

                groups = arm(sums, {}).groups
            expected = {g: (sum(r["metadata"]["subject"] == g for r in mine),
                            sum(r["metadata"]["subject"] == g and quality[r["request_id"]] >= 0.5 for r in mine))
                        for g in ("she", "he")}
            assert {g: (c.n, c.good) for g, c in groups.items()} == expected and all(n for n, _ in expected.values())
            assert sums["n"] == len(mine)
