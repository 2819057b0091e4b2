"""Load on loopback: 8 concurrent HTTP clients against ``driftgate serve``'s server send real
interactions with deliberate duplicates (ids shared by batches two clients send at once, an id
twice in one batch, re-sent batches, batches whose socket closes before the answer is read and
are then re-sent). Afterwards S3, DynamoDB, the window aggregates and the clients' answers must
all count every distinct interaction exactly once. Handlers run one at a time locally (the
dispatcher's lock), so the concurrency is at the HTTP layer; no timing is asserted here
(``benchmarks/bench_load.py`` measures it, with the same harness: ``driftgate.testing.load``)."""
from __future__ import annotations

from collections import Counter

import pytest

from driftgate.testing.audit import account, bottom_k, read_stored
from driftgate.testing.load import Plan, make_plan, serve_and_load

UNIQUE = 480
CLIENTS = 8


@pytest.fixture(scope="module")
def plan() -> Plan:
    return make_plan(UNIQUE, clients=CLIENTS, sizes=(8, 28), retried=0.15, shared_per_pair=1, repeats=4, seed=11)


def test_the_plan_holds_every_kind_of_duplicate(plan: Plan) -> None:
    assert len(plan.unique_ids) == UNIQUE
    assert plan.shared and plan.repeated and plan.dropped_ids
    assert any(j.action == "resend" for j in plan.jobs)
    assert 0.08 <= plan.duplicates / plan.sent <= 0.15  # about a tenth of what is sent
    assert max(len(j.records) for j in plan.jobs) <= 100
    # Shared ids sit in batches of two different clients.
    for rid in plan.shared:
        batches = [j.batch for j in plan.jobs if rid in j.ids]
        assert len(batches) == 2 and batches[0] % CLIENTS != batches[1] % CLIENTS


def test_concurrent_clients_store_each_interaction_exactly_once(local, plan: Plan) -> None:
    result = serve_and_load(local, plan, CLIENTS)
    stored = read_stored(local)

    assert len(result.attempts) == plan.requests and not result.unplanned  # loopback loses nothing we did not drop
    # S3: one JSON line per distinct interaction, none in two objects nor twice in one.
    assert stored.s3_lines == UNIQUE
    assert stored.s3_ids == Counter(plan.unique_ids)
    # DynamoDB: one item each; every window's aggregate counts exactly its items.
    assert stored.dynamo_ids == Counter(plan.unique_ids)
    assert sum(stored.window_n.values()) == UNIQUE
    assert stored.window_n == dict(stored.dynamo_by_window)
    assert len(stored.window_n) > 1  # the load spans several days, so several windows
    # Every window's sample, its shards merged, is exactly the bottom-k of the window's stored ids.
    assert set(stored.samples) == set(stored.window_n)
    assert all(sample.request_ids() == bottom_k(stored.window_ids[key], sample.capacity)
               for key, sample in stored.samples.items())
    # Each item, and each sampled record, names the raw object that holds its line.
    assert all(rid in stored.s3_objects.get(key or "", []) for rid, key in stored.item_raw_keys.items())
    assert all(rid in stored.s3_objects.get(key, []) for rid, key in stored.reservoir_refs)

    books = account(plan, result)
    assert books.bad_status == 0 and books.bad_totals == 0
    assert books.resend_accepted == 0  # a re-send after a read answer stores nothing
    assert max(books.accepted.values()) == 1  # no id accepted twice, shared ones included
    # Only a dropped request's answer is unread: what it stored, its re-send calls duplicate.
    assert books.unreported <= plan.dropped_ids
    after_drop = [a for a in result.attempts if a.kind == "after-drop"]
    assert len(books.unreported) == sum(a.response["duplicates"] for a in after_drop)
    assert books.accepted_total + len(books.unreported) == UNIQUE
    # An id twice in one batch: its second place is answered "duplicate".
    for attempt in result.answered():
        ids = attempt.job.ids
        for rid in plan.repeated & set(ids):
            last = len(ids) - 1 - ids[::-1].index(rid)
            assert attempt.response["results"][last]["status"] == "duplicate"
