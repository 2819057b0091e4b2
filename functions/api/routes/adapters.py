"""The adapter registry: versions, the production alias and its moves, retraining and approvals."""
# No `from __future__ import annotations`: Powertools reads the route signatures at runtime.
from typing import Annotated, cast

from aws_lambda_powertools import Tracer
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import TypeAdapter

from functions.api.models import (
    AdapterAlias,
    AdapterList,
    AdapterVersion,
    ApprovalIn,
    ProductionAdapter,
    RetrainStarted,
    ServingAdapter,
)
from functions.api.params import ModelPath, VersionPath
from functions.registry import service as adapters

tracer = Tracer()
router = Router()
_version = TypeAdapter(AdapterVersion)  # a TypedDict: its optional keys stay absent when unset
UnitQuery = Annotated[str, Query(min_length=1, max_length=256, description="a user or session id: what keeps "
                                                                           "its arm for the whole canary")]


def _caller() -> str:
    """Who made the request: the SigV4 identity API Gateway authenticated."""
    identity = cast(APIGatewayProxyEvent, router.current_event).request_context.identity  # REST API events
    return identity.user_arn or identity.caller or "unknown"


@router.get("/v1/models/<model>/adapters")
@tracer.capture_method
def get_adapters(model: ModelPath) -> AdapterList:
    """Every version of the model's adapters, the production alias and its history."""
    return AdapterList.model_validate(adapters.list_adapters(model))


@router.get("/v1/models/<model>/adapters/production")
@tracer.capture_method
def get_production(model: ModelPath) -> ProductionAdapter:
    """What apps load: version, S3 URI and sha256 of the adapter in production."""
    return ProductionAdapter.model_validate(adapters.production(model))


@router.get("/v1/models/<model>/adapters/serving")
@tracer.capture_method
def get_serving(model: ModelPath, unit: UnitQuery) -> ServingAdapter:
    """Which adapter serves this unit: staging for the canary's share of units while a canary runs,
    production otherwise. Report its ``version`` as the interactions' ``adapter_version``."""
    return ServingAdapter.model_validate(adapters.serving(model, unit))


@router.post("/v1/models/<model>/adapters/<version>/promote")
@tracer.capture_method
def post_promote(model: ModelPath, version: VersionPath) -> AdapterAlias:
    """Moves production to this version (409 if the gate or a reviewer rejected it, or if another
    move won a race) and freezes the baseline it is promoted on."""
    return AdapterAlias.model_validate(adapters.promote(model, version, _caller()))


@router.post("/v1/models/<model>/rollback")
@tracer.capture_method
def post_rollback(model: ModelPath) -> AdapterAlias:
    """Moves production back to the version that served before (again: further back)."""
    return AdapterAlias.model_validate(adapters.rollback(model, _caller()))


@router.post("/v1/models/<model>/retrain")
@tracer.capture_method
def post_retrain(model: ModelPath) -> RetrainStarted:
    """Starts the retrain pipeline now (same guard as the schedule: one run at a time, cooldown)."""
    return RetrainStarted.model_validate(adapters.retrain(model, _caller()))


@router.post("/v1/models/<model>/approvals/<version>")
@tracer.capture_method
def post_approval(model: ModelPath, version: VersionPath, decision: ApprovalIn) -> AdapterVersion:
    """Resumes the run waiting for a reviewer on this version (approval_mode=manual)."""
    return _version.validate_python(adapters.decide_approval(model, version, decision.approve, _caller(),
                                                             decision.comment))
