"""StartCanary (rollout=canary): the version that passed the gate becomes ``staging`` and its canary
starts; from now on the serving route sends ``canary_share`` of units to it."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.common.contract import BASE_MODEL_VERSION, settings
from functions.pipeline.models import CanaryStarted, StartCanaryInput
from functions.registry.canaries import canaries
from functions.registry.store import registry

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return start(StartCanaryInput.model_validate(event)).model_dump(mode="json")


def start(request: StartCanaryInput) -> CanaryStarted:
    reg = registry()
    production = reg.alias(request.model, "production")
    control = int(production["version"]) if production else BASE_MODEL_VERSION
    # The canary first, staging second: a unit is sent to staging only once both exist, and a
    # retry after either step finds the canary (same id) and moves staging if it has not yet.
    canary = canaries().start(request.model, request.version, control,
                              canary_id=request.execution_arn.rsplit(":", 1)[-1], execution_arn=request.execution_arn,
                              share=settings.canary_share)
    staging = reg.alias(request.model, "staging")
    if not staging or staging["version"] != request.version:
        reg.move(request.model, request.version, alias="staging", actor=request.execution_arn, reason="canary")
    logger.info("canary started", extra={"model": request.model, "version": request.version,
                                         "control_version": control, "share": canary["share"]})
    return CanaryStarted(version=request.version, control_version=int(canary["control_version"]),
                         canary_id=canary["canary_id"], share=float(canary["share"]), started_at=canary["started_at"])
