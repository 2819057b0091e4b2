"""Scheduled check of each monitored model (EventBridge → this Lambda)."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.common.settings import env
from functions.monitor.checks import check_model

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    models = [m for m in env("MONITORED_MODELS", "").split(",") if m]
    return {"checks": [check_model(model).model_dump() for model in models]}
