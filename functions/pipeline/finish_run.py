"""FinishRun: records how a run ended and frees the model's trigger (cooldown starts)."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from functions.common.repositories import repositories
from functions.monitor.trigger import release

logger = Logger()
tracer = Tracer()


class FinishInput(BaseModel):
    execution_arn: str
    model: str
    status: str
    reason: str = "manual"
    dataset: dict[str, Any] | None = None


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    run = FinishInput.model_validate(event)
    repos = repositories()
    repos.state.record_run(run.model, run.execution_arn, run.status, reason=run.reason, dataset=run.dataset)
    cooldown_until = release(repos, run.model)
    detail = (run.dataset or {}).get("message", "")
    return {"status": run.status, "model": run.model, "execution_arn": run.execution_arn,
            "cooldown_until": cooldown_until, "message": f"driftgate retrain for {run.model}: {run.status}. {detail}"}
