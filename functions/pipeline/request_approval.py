"""RequestApproval (manual mode): parks the run until a person approves or rejects the version.

Step Functions passes a task token; it is stored on the version so that the API's
``POST /v1/models/{model}/approvals/{version}`` (or the console's SendTaskSuccess) resumes it.
"""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.pipeline.models import ApprovalInput, ApprovalRequested
from functions.registry.store import registry

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = ApprovalInput.model_validate(event)
    registry().await_approval(request.model, request.version, request.task_token)
    logger.info("waiting for approval", extra={"model": request.model, "version": request.version})
    return ApprovalRequested().model_dump(mode="json")
