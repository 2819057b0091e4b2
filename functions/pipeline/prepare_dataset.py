"""PrepareDataset: decides whether there is enough fresh data to train on."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.common.repositories import repositories
from functions.common.settings import env_int
from functions.pipeline.models import PipelineInput

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    run = PipelineInput.model_validate(event)
    available = repositories().interactions.count_for_model(run.model)
    required = env_int("MIN_TRAINING_RECORDS", 200)
    logger.info("dataset candidates", extra={"model": run.model, "available": available, "required": required})
    return {
        "model": run.model,
        "available_records": available,
        "required_records": required,
        "enough": available >= required,
        "message": f"{run.model}: {available} interactions available, {required} required to train",
    }
