"""The unit-to-arm hash: deterministic, stable per unit, the share respected, reshuffled per canary."""
from __future__ import annotations

import math

import pytest

from functions.canary.assignment import assign, bucket


def test_deterministic_and_pinned() -> None:
    # Pinned: a change of the hash would move every live unit to another arm mid-canary.
    assert bucket("support-bot", "user-1", "canary-1") == pytest.approx(0.38474689915532684, abs=1e-15)
    assert assign("support-bot", "user-1", "canary-1", 0.5) == "treatment"
    assert assign("support-bot", "user-1", "canary-1", 0.3) == "control"
    assert all(assign("m", f"u{i}", "c", 0.2) == assign("m", f"u{i}", "c", 0.2) for i in range(200))


def test_the_share_is_respected_within_binomial_error() -> None:
    for share in (0.05, 0.1, 0.5):
        n = 20000
        treated = sum(assign("support-bot", f"session-{i}", "canary-7", share) == "treatment" for i in range(n))
        assert abs(treated / n - share) < 4 * math.sqrt(share * (1 - share) / n), (share, treated)


def test_a_unit_keeps_its_arm_and_raising_the_share_moves_only_control_units() -> None:
    units = [f"user-{i}" for i in range(2000)]
    at_10 = {u for u in units if assign("m", u, "c", 0.1) == "treatment"}
    at_20 = {u for u in units if assign("m", u, "c", 0.2) == "treatment"}
    assert at_10 < at_20
    assert {assign("m", u, "c", 0.0) for u in units} == {"control"}
    assert {assign("m", u, "c", 1.0) for u in units} == {"treatment"}


def test_each_canary_and_model_reshuffles_the_units() -> None:
    units = [f"user-{i}" for i in range(4000)]
    same = sum(assign("m", u, "canary-1", 0.5) == assign("m", u, "canary-2", 0.5) for u in units) / len(units)
    assert abs(same - 0.5) < 4 * math.sqrt(0.25 / len(units))
    other_model = sum(assign("m", u, "canary-1", 0.5) == assign("n", u, "canary-1", 0.5) for u in units) / len(units)
    assert abs(other_model - 0.5) < 4 * math.sqrt(0.25 / len(units))
    # The fields are separated: moving a character from one to the next changes the hash.
    assert bucket("a", "bc", "x") != bucket("ab", "c", "x")


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_a_share_outside_zero_one_is_refused(share: float) -> None:
    with pytest.raises(ValueError, match="share must be in"):
        assign("m", "u", "c", share)
