"""Gate: reads both evaluations from the evaluation job's output and decides promote/reject."""
from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.common.contract import Metric
from functions.common.metrics import emit
from functions.gate.config import gate_config
from functions.gate.decision import decide
from functions.pipeline.artifacts import artifact_store
from functions.pipeline.models import GateInput, GateOutput

logger = Logger()
tracer = Tracer()


def rows(files: dict[str, bytes], who: str) -> list[dict[str, Any]]:
    name = f"{who}/examples.jsonl"
    if name not in files:
        raise FileNotFoundError(f"evaluation output has no {name}")
    return [json.loads(line) for line in files[name].decode().splitlines() if line.strip()]


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = GateInput.model_validate(event)
    files = artifact_store().read_tarball(request.evaluation_uri)
    gate: GateOutput = decide(rows(files, "champion"), rows(files, "challenger"), gate_config())
    emit(Metric.GATE_PROMOTE if gate.decision == "promote" else Metric.GATE_REJECT, 1, unit=MetricUnit.Count,
         model=request.model)
    logger.info("gate decision", extra={"model": request.model, "decision": gate.decision, "reasons": gate.reasons})
    return gate.model_dump(mode="json")
