"""Gate: reads both evaluations from the evaluation job's output and decides promote/reject."""
from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from functions.common.metrics import emit
from functions.common.settings import env
from functions.gate.decision import GateConfig, decide
from functions.pipeline.artifacts import artifact_store

logger = Logger()
tracer = Tracer()


class GateInput(BaseModel):
    model: str
    evaluation_uri: str


def gate_config() -> GateConfig:
    """The stack's ``driftgate:gate`` setting (``GATE_CONFIG``); PrepareDataset reads its
    ``protected_attribute`` too, to keep that attribute on the eval and golden rows."""
    return GateConfig.from_dict(json.loads(env("GATE_CONFIG", "{}")))


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
    decision = decide(rows(files, "champion"), rows(files, "challenger"), gate_config()).to_dict()
    emit("GatePromote" if decision["decision"] == "promote" else "GateReject", 1, unit=MetricUnit.Count,
         model=request.model)
    logger.info("gate decision", extra={"model": request.model, "decision": decision["decision"],
                                        "reasons": decision["reasons"]})
    return decision
