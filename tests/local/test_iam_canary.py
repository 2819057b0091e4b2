"""The canary's tasks hold exactly the grants they use (infra/stack.py): each is needed, and the local
mode refuses the call where AWS would when one is taken out of the synthesized template."""
from __future__ import annotations

from typing import Any

import pytest

from driftgate.local import local_stack
from tests.local.test_iam_enforced import without_action

MODEL = "support-bot"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:Retrain:iam-canary"


def staged(stack) -> None:
    """Version 1 registered and staged by the real StartCanary handler."""
    with stack.environment("Register"):
        from functions.registry.store import registry

        registry().register(MODEL, {"s3_uri": "s3://a/1/model.tar.gz", "sha256": f"{1:064x}",
                                    "gate": {"decision": "promote"}, "execution_arn": EXECUTION})
    assert stack.invoke("StartCanary", {"model": MODEL, "version": 1, "execution_arn": EXECUTION})["version"] == 1


def staging(stack) -> dict[str, Any] | None:
    with stack.environment("Promote"):
        from functions.registry.store import registry

        return registry().alias(MODEL, "staging")


def test_a_look_needs_update_item_and_retiring_needs_delete_item(synthesized_template) -> None:
    with local_stack(without_action(synthesized_template, "CheckCanary", "dynamodb:UpdateItem")) as stack:
        staged(stack)
        with pytest.raises(RuntimeError, match="(?s)CheckCanary failed: .*AccessDenied"):
            stack.invoke("CheckCanary", {"model": MODEL, "version": 1})

    retire = {"model": MODEL, "version": 1, "decision": "rollback", "execution_arn": EXECUTION}
    with local_stack(without_action(synthesized_template, "RetireCanary", "dynamodb:DeleteItem")) as stack:
        staged(stack)
        with pytest.raises(RuntimeError, match="(?s)RetireCanary failed: .*AccessDenied"):
            stack.invoke("RetireCanary", retire)
        assert staging(stack)["version"] == 1  # the alias's deletion was refused

    with local_stack(synthesized_template) as stack:
        staged(stack)
        assert stack.invoke("CheckCanary", {"model": MODEL, "version": 1})["decision"] == "continue"
        assert stack.invoke("RetireCanary", retire)["status"] == "rolled_back" and staging(stack) is None
