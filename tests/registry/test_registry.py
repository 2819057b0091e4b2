"""Registry semantics on the stack's real state table in moto."""
from __future__ import annotations

import threading

import pytest

from functions.common.exceptions import ConflictError, NotFoundError
from tests.registry.conftest import version_record


def test_versions_are_numbered_and_immutable(registry) -> None:
    first = registry.register("m", version_record(1))
    second = registry.register("m", version_record(2))
    assert (first["version"], second["version"]) == (1, 2)
    assert [v["version"] for v in registry.versions("m")] == [1, 2]
    with pytest.raises(NotFoundError):
        registry.get_version("m", 3)


def test_promote_and_rollback_keep_a_full_history(registry) -> None:
    for n in (1, 2, 3):
        registry.register("m", version_record(n))
    registry.move("m", 1, actor="gate", reason="promote")
    registry.move("m", 2, actor="gate", reason="promote")
    registry.move("m", 3, actor="gate", reason="promote")
    assert registry.rollback("m", actor="ops")["version"] == 2
    assert registry.rollback("m", actor="ops")["version"] == 1
    with pytest.raises(ConflictError):
        registry.rollback("m", actor="ops")
    history = registry.history("m")
    assert [(h["from_version"], h["to_version"], h["reason"]) for h in history] == [
        (None, 1, "promote"), (1, 2, "promote"), (2, 3, "promote"), (3, 2, "rollback"), (2, 1, "rollback")]
    alias = registry.alias("m")
    assert alias["version"] == 1 and alias["revision"] == 5 and alias["sha256"] == f"{1:064x}"


def test_rejected_version_cannot_be_promoted(registry) -> None:
    registry.register("m", version_record(1, decision="reject"))
    with pytest.raises(ConflictError, match="rejected by the gate"):
        registry.move("m", 1, actor="ops", reason="promote")
    assert registry.alias("m") is None


def test_two_racing_promotions_one_wins(registry) -> None:
    for n in (1, 2, 3):
        registry.register("m", version_record(n))
    registry.move("m", 1, actor="gate", reason="promote")
    barrier = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def promote(version: int) -> None:
        barrier.wait()
        try:
            registry.move("m", version, actor=f"op{version}", reason="promote", expected_revision=1)
            outcomes[version] = "won"
        except ConflictError:
            outcomes[version] = "lost"

    threads = [threading.Thread(target=promote, args=(v,)) for v in (2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes.values()) == ["lost", "won"]
    winner = next(v for v, o in outcomes.items() if o == "won")
    assert registry.alias("m")["version"] == winner
    assert [h["to_version"] for h in registry.history("m")] == [1, winner]


def test_approval_only_from_pending(registry) -> None:
    registry.register("m", version_record(1))
    assert registry.set_approval("m", 1, "approved", "alice")["approval"] == "approved"
    with pytest.raises(ConflictError):
        registry.set_approval("m", 1, "rejected", "bob")
    with pytest.raises(NotFoundError):
        registry.set_approval("m", 9, "approved", "bob")
