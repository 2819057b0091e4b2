"""The canary of a staged adapter (rollout=canary): its arms and test, and the operator's stop."""
# No `from __future__ import annotations`: Powertools reads the route signatures at runtime.
from typing import cast

from aws_lambda_powertools import Tracer
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from functions.api.models import CanaryView
from functions.api.params import ModelPath
from functions.registry import service

tracer = Tracer()
router = Router()


def _caller() -> str:
    identity = cast(APIGatewayProxyEvent, router.current_event).request_context.identity  # REST API events
    return identity.user_arn or identity.caller or "unknown"


@router.get("/v1/models/<model>/canary")
@tracer.capture_method
def get_canary(model: ModelPath) -> CanaryView:
    """The model's latest canary as of its last look: both arms' counts and mean quality, the
    always-valid p-value and confidence interval, and the decision so far."""
    return CanaryView.model_validate(service.canary(model))


@router.post("/v1/models/<model>/canary/abort")
@tracer.capture_method
def post_abort(model: ModelPath) -> CanaryView:
    """Stops the running canary (409 if none runs): no unit is sent to staging from now on, and
    the run's next look retires it; production is untouched."""
    return CanaryView.model_validate(service.abort_canary(model, _caller()))
