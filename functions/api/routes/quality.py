"""How a model does: its window quality beside the frozen baseline, and its latest drift reports."""
# No `from __future__ import annotations`: Powertools reads the route signatures at runtime.
from typing import Annotated

from aws_lambda_powertools import Tracer
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.api.models import DriftReports, QualityOut
from functions.api.params import ModelPath
from functions.interactions import service
from functions.interactions.storable import MAX_STORED_INT

tracer = Tracer()
router = Router()
# Part of a DynamoDB key (1 KB at most).
WindowQuery = Annotated[str | None, Query(max_length=64, description="window start (ISO 8601); default: latest")]


@router.get("/v1/models/<model>/quality")
@tracer.capture_method
def get_quality(model: ModelPath) -> QualityOut:
    return service.quality(model)


@router.post("/v1/models/<model>/baseline")
@tracer.capture_method
def post_baseline(model: ModelPath, window: WindowQuery = None,
                  adapter_version: Annotated[int | None, Query(ge=0, le=MAX_STORED_INT)] = None) -> QualityOut:
    """Freezes a window as the model's baseline (the promotion of an adapter does this too)."""
    return service.freeze_baseline(model, window, adapter_version)


@router.get("/v1/models/<model>/drift")
@tracer.capture_method
def get_drift(model: ModelPath) -> DriftReports:
    """The latest drift reports (prompts and outputs): what drifted, how much, with what p-value,
    which clusters grew or shrank, with example texts."""
    return DriftReports.model_validate(service.latest_drift(model))
