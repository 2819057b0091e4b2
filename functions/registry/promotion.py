"""Promotion: shared by the pipeline's Promote task and the API (its own module, so that the
Promote function imports no API-only code, such as the retrain trigger)."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from functions.common.exceptions import ConflictError, NotFoundError
from functions.interactions.service import freeze_baseline
from functions.registry.canaries import canaries
from functions.registry.store import registry

logger = Logger(child=True)


def promote(model: str, version: int, actor: str) -> dict[str, Any]:
    """Moves ``production`` to ``version`` and freezes the baseline it is promoted on; shared by
    the pipeline's Promote task and the API. A version a reviewer rejected is never promoted.
    A staged version's canary ends ``promoted`` and ``staging`` is cleared."""
    reg = registry()
    if reg.get_version(model, version).get("approval") == "rejected":
        raise ConflictError(f"version {version} of {model} was rejected by a reviewer and cannot be promoted")
    alias = reg.move(model, version, actor=actor, reason="promote")
    end_canary(model, version, actor)
    try:
        freeze_baseline(model, adapter_version=version)
    except NotFoundError:
        logger.info("no window to freeze as baseline yet", extra={"model": model})
    return alias


def end_canary(model: str, version: int, actor: str) -> None:
    """After ``version`` took production: its canary (if open) is over, and staging is cleared."""
    canaries().end(model, version, "promoted", actor)
    registry().clear(model, version, alias="staging", actor=actor, reason="promote")
