"""RecordFailure: stores why a run failed, for the operators and the notification."""
from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.common.exceptions import NotFoundError
from functions.common.repositories import repositories
from functions.monitor.run_guard import release
from functions.pipeline.models import FailureInput, FailureReport, TaskError
from functions.registry.canaries import canaries
from functions.registry.store import registry

logger = Logger()
tracer = Tracer()


def describe_error(error: TaskError) -> tuple[str, str]:
    """Step Functions' Catch gives ``{"Error", "Cause"}``; a Lambda's Cause is its error payload."""
    cause = error.cause
    try:
        payload = json.loads(cause)
        cause = f"{payload.get('errorType', error.error)}: {payload.get('errorMessage', cause)}"
    except (ValueError, AttributeError):
        pass
    return error.error, cause


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return record(FailureInput.model_validate(event)).model_dump(mode="json")


def record(failure: FailureInput) -> FailureReport:
    model = str(failure.input.get("model") or "unknown")
    error, cause = describe_error(failure.error)
    repos = repositories()
    repos.state.record_run(model, failure.execution_arn, "FAILED", error=error, cause=cause,
                           reason=failure.input.get("reason"))
    release(repos, model)
    retire_own_canary(model, failure.execution_arn)
    moved = production_moved_by(model, failure.execution_arn)
    production = (f"Production moved to version {moved} by this run before the failure." if moved is not None
                  else "Production adapter unchanged.")
    logger.warning("pipeline run failed", extra={"model": model, "error": error, "cause": cause})
    return FailureReport(status="FAILED", model=model, execution_arn=failure.execution_arn, error=error, cause=cause,
                         production_moved_to=moved,
                         message=f"driftgate retrain for {model} failed ({error}): {cause}. {production}")


def production_moved_by(model: str, execution_arn: str) -> int | None:
    """The version this run promoted, if it got that far (say FinishRun failed afterwards)."""
    moves = [entry for entry in registry().history(model) if entry.get("actor") == execution_arn]
    return int(moves[-1]["to_version"]) if moves else None


def retire_own_canary(model: str, execution_arn: str) -> None:
    """A canary this run started and left open (a look failed) ends ``failed``, and staging is
    cleared: no unit is sent to a version no run is watching."""
    try:
        item = canaries().latest(model)
    except NotFoundError:
        return
    version = int(item["version"])
    if item["execution_arn"] == execution_arn and canaries().end(model, version, "failed", execution_arn):
        registry().clear(model, version, alias="staging", actor=execution_arn, reason="failed")
