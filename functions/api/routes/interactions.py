"""Ingest, feedback and erasure: what apps and people send about interactions."""
# No `from __future__ import annotations`: Powertools reads the route signatures at runtime.
from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from functions.api.models import (
    ErasureIn,
    ErasureReceipt,
    FeedbackIn,
    FeedbackOut,
    IngestRequest,
    IngestResponse,
)
from functions.common.contract import Metric
from functions.interactions import ingest, service
from functions.interactions.erasure import erase_user

tracer = Tracer()
metrics = Metrics()  # shares the metric set that app.lambda_handler flushes
router = Router()


@router.post("/v1/interactions")
@tracer.capture_method
def post_interactions(request: IngestRequest) -> IngestResponse:
    response = ingest.ingest(request)
    metrics.add_metric(name=Metric.INTERACTIONS_ACCEPTED, unit=MetricUnit.Count, value=response.accepted)
    metrics.add_metric(name=Metric.INTERACTIONS_DUPLICATE, unit=MetricUnit.Count, value=response.duplicates)
    for result in response.results:
        if result.status == "accepted" and result.quality is not None:
            metrics.add_metric(name=Metric.QUALITY, unit=MetricUnit.NoUnit, value=result.quality)
    return response


@router.post("/v1/feedback")
@tracer.capture_method
def post_feedback(feedback: FeedbackIn) -> FeedbackOut:
    metrics.add_metric(name=Metric.FEEDBACK, unit=MetricUnit.Count, value=1)
    return service.add_feedback(feedback)


@router.post("/v1/erasures")
@tracer.capture_method(capture_response=False)  # the receipt names the user: kept out of traces
def post_erasure(request: ErasureIn) -> ErasureReceipt:
    """Erases one end user's interactions (by metadata.user_id) from raw storage, samples and future
    training sets; their items become tombstones. Repeating it is safe and returns zeros."""
    receipt = erase_user(request.user_id)
    metrics.add_metric(name=Metric.INTERACTIONS_ERASED, unit=MetricUnit.Count, value=receipt.interactions_erased)
    return receipt
