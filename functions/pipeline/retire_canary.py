"""RetireCanary (rollout=canary): the canary kept production (staging worse, inconclusive, or
aborted): its status is stored with the version, ``staging`` is cleared, production is untouched."""
from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.pipeline.models import CanaryRetired, RetireCanaryInput
from functions.registry.canaries import canaries
from functions.registry.store import registry

logger = Logger()
tracer = Tracer()
Retired = Literal["rolled_back", "inconclusive", "retired"]
STATUS: dict[str, Retired] = {"rollback": "rolled_back", "inconclusive": "inconclusive", "aborted": "retired"}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return retire(RetireCanaryInput.model_validate(event)).model_dump(mode="json")


def retire(request: RetireCanaryInput) -> CanaryRetired:
    if request.decision not in STATUS:
        raise ValueError(f"a {request.decision!r} decision retires nothing")
    status = STATUS[request.decision]
    canaries().end(request.model, request.version, status, request.execution_arn)
    reg = registry()
    reg.clear(request.model, request.version, alias="staging", actor=request.execution_arn, reason=status)
    production = reg.alias(request.model, "production")
    logger.info("staging retired", extra={"model": request.model, "version": request.version, "status": status})
    return CanaryRetired(version=request.version, status=status,
                         production_version=int(production["version"]) if production else None)
