"""Promote: moves ``production`` to the new version and freezes the baseline it is promoted on."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.pipeline.models import PromotedAlias, PromoteInput
from functions.registry.promotion import end_canary, promote
from functions.registry.store import registry

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = PromoteInput.model_validate(event)
    current = registry().alias(request.model)
    history = registry().history(request.model) if current and current["version"] == request.version else []
    if history and history[-1]["actor"] == request.actor:
        # A retry of this run's own move, which already happened (the canary's end may not have).
        end_canary(request.model, request.version, request.actor)
        return PromotedAlias.model_validate(current).model_dump(mode="json")
    alias = promote(request.model, request.version, request.actor)
    logger.info("promoted", extra={"model": request.model, "version": request.version})
    return PromotedAlias.model_validate(alias).model_dump(mode="json")
