"""A rollback racing a promotion, round after round, on the stack's real state table in moto:
whatever the interleaving, the production alias and its history stay one consistent story, and
a call that loses the race gets a 409 ``ConflictError`` instead of half-writing. (The local stack
makes each DynamoDB request atomic, as AWS does: driftgate.local.atomicity.)"""
from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from itertools import pairwise
from typing import Any

import pytest

from functions.common.exceptions import ConflictError
from functions.registry.store import Registry
from tests.registry.conftest import version_record

MODEL = "m"
ROUNDS = 20


def promotion_stack(history: list[dict[str, Any]]) -> list[int]:
    """Replays the history as the registry defines it (promotions push, rollbacks pop) and checks
    that every rollback went to the version below the top at that point."""
    stack: list[int] = []
    for entry in history:
        if entry["reason"] == "rollback":
            assert len(stack) >= 2, entry
            assert entry["to_version"] == stack[-2], (entry, stack)
            stack.pop()
        else:
            stack.append(int(entry["to_version"]))
    return stack


def consistent_history(registry: Registry) -> list[dict[str, Any]]:
    """The alias and its history, checked to agree: contiguous revisions, each move starting where
    the previous one ended, the alias equal to the last move (version, revision and artifact)."""
    history = registry.history(MODEL)
    alias = registry.alias(MODEL)
    assert [h["revision"] for h in history] == list(range(1, len(history) + 1))
    assert history[0]["from_version"] is None
    for previous, entry in pairwise(history):
        assert entry["from_version"] == previous["to_version"], (previous, entry)
    last = history[-1]
    assert (alias["version"], alias["revision"]) == (last["to_version"], last["revision"])
    target = registry.get_version(MODEL, alias["version"])
    assert (alias["s3_uri"], alias["sha256"]) == (target["s3_uri"], target["sha256"])
    promotion_stack(history)
    return history


@pytest.fixture
def tight_switching() -> Iterator[None]:
    """Threads switch every few microseconds, so the two calls interleave inside their
    read-then-write windows instead of running one after the other."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def race(calls: dict[str, Callable[[], dict[str, Any]]]) -> dict[str, dict[str, Any] | Exception]:
    """Runs the calls at once (released together by a barrier); each one's result or exception."""
    barrier = threading.Barrier(len(calls))
    outcomes: dict[str, dict[str, Any] | Exception] = {}

    def run(name: str, call: Callable[[], dict[str, Any]]) -> None:
        barrier.wait()
        try:
            outcomes[name] = call()
        except Exception as error:  # any other type is asserted against below
            outcomes[name] = error

    threads = [threading.Thread(target=run, args=item) for item in calls.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_rollback_racing_promotion_keeps_alias_and_history_consistent(
        registry: Registry, tight_switching: None) -> None:
    versions = iter(range(1, 10_000))

    def new_promotion() -> Callable[[], dict[str, Any]]:
        """Registers the next version; returns the call that promotes it."""
        version = registry.register(MODEL, version_record(next(versions)))["version"]
        return lambda: registry.move(MODEL, version, actor="gate", reason="promote")

    for _ in range(3):
        new_promotion()()
    tally = {"both": 0, "promote": 0, "rollback": 0}  # who got through, per round
    for _ in range(ROUNDS):
        while len(promotion_stack(registry.history(MODEL))) < 3:  # keep something to roll back to
            new_promotion()()
        before = len(registry.history(MODEL))
        outcomes = race({"promote": new_promotion(), "rollback": lambda: registry.rollback(MODEL, actor="ops")})

        lost = {name: o for name, o in outcomes.items() if isinstance(o, Exception)}
        unexpected = [o for o in lost.values() if not (isinstance(o, ConflictError) and o.status == 409)]
        assert not unexpected, "".join(line for o in unexpected for line in traceback.format_exception(o))
        won = {name: o for name, o in outcomes.items() if name not in lost}
        assert won, "one of the two must get through"
        history = consistent_history(registry)
        # Each winner wrote exactly one history entry, at the revision it returned; losers none.
        assert len(history) == before + len(won)
        assert sorted(o["revision"] for o in won.values()) == list(range(before + 1, len(history) + 1))
        for o in won.values():
            assert history[o["revision"] - 1]["to_version"] == o["version"]
        tally["both" if len(won) == 2 else next(iter(won))] += 1

    # The race was real: some rounds had a loser, which the checks above saw leave no trace.
    assert tally["promote"] + tally["rollback"] > 0, tally
