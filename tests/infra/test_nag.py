"""cdk-nag's AwsSolutions pack over the whole stack: no unsuppressed finding, every suppression reasoned.

The IAM shapes the IAM5 suppressions rely on (no wildcard actions, '*' resources only for actions
without ARNs) are asserted over every policy document in ``test_security.py``.
"""
from __future__ import annotations

from aws_cdk.assertions import Annotations, Match

from infra.nag import STACK_WIDE


def test_no_unsuppressed_awssolutions_errors(stack) -> None:
    errors = Annotations.from_stack(stack).find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert errors == [], "\n".join(f"{e.id}: {e.entry.data}" for e in errors)


def test_no_unsuppressed_awssolutions_warnings(stack) -> None:
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert warnings == [], "\n".join(f"{w.id}: {w.entry.data}" for w in warnings)


def test_every_suppression_has_a_written_reason() -> None:
    for suppression in STACK_WIDE:
        assert len(suppression.reason.split()) >= 10, suppression.id

