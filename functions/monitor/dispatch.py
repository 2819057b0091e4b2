"""The scheduled drift check's dispatcher (EventBridge → this Lambda): lists the models with a
frozen baseline (one Query of the baseline index, no scan), keeps those of the optional
``monitored_models`` filter, and invokes the one-model check (``drift_check``) asynchronously
for each. Its own work is one Query and one Invoke per model; the checks run side by side."""
from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.common.clients import client
from functions.common.contract import BASELINE_INDEX_PK, baseline_index_sk, settings
from functions.common.repositories import StateRepository, repositories

logger = Logger()
tracer = Tracer()


def models_with_baseline(state: StateRepository) -> list[str]:
    return sorted(item["model"] for item in state.query(BASELINE_INDEX_PK, baseline_index_sk("")))


def models_to_check(state: StateRepository, monitored: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(models to check, models of the filter that have no baseline yet). An empty filter: all."""
    found = models_with_baseline(state)
    if not monitored:
        return found, []
    return [m for m in found if m in monitored], sorted(set(monitored) - set(found))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    models, without_baseline = models_to_check(repositories().state, settings.monitored_models)
    lambda_client = client("lambda")
    for model in models:
        # Event: Lambda queues the check and answers 202; retries and the event age are the
        # check function's asynchronous invocation settings (infra/stack.py).
        lambda_client.invoke(FunctionName=settings.drift_check_function, InvocationType="Event",
                             Payload=json.dumps({"model": model, "scheduled": event.get("time")}).encode())
    logger.info("drift checks dispatched", extra={"models": models, "without_baseline": without_baseline})
    return {"dispatched": models, "without_baseline": without_baseline}
