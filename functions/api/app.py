"""The driftgate REST API (API Gateway proxy → this Lambda). Routes are typed with pydantic;
Powertools validates requests and serves the OpenAPI document."""
# No `from __future__ import annotations` here: Powertools reads the route signatures at runtime.
import base64
import json
from typing import Annotated, Optional

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType, RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from functions.api.body import parse_body
from functions.api.models import (
    ApprovalIn, ErasureIn, ErasureReceipt, FeedbackIn, FeedbackOut, IngestRequest, IngestResponse, ModelName,
    QualityOut,
)
from functions.api.openapi import document_errors
from functions.api.routing import DecodingRestResolver
from functions.api.storable import MAX_STORED_INT
from functions.common.exceptions import BadRequestError, DriftgateError, PayloadTooLargeError
from functions.interactions import service
from functions.interactions.erasure import erase_user
from functions.registry import service as adapters

MAX_BODY_BYTES = 1024 * 1024

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = DecodingRestResolver(enable_validation=True, json_body_deserializer=parse_body)


class Health(BaseModel):
    status: str
    service: str


def _error(status: int, message: str, **extra) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON,
                    body={"message": message, **extra})


@app.exception_handler(DriftgateError)
def handle_domain_error(error: DriftgateError) -> Response:
    """Every domain error maps to its HTTP status here, and only here."""
    if rejected := _rejected_body():  # a body parse_body refused may also be too large or not JSON
        return rejected
    if error.status >= 500:
        logger.exception("request failed")
    return _error(error.status, error.message, error=type(error).__name__)


def _body_size() -> int:
    event = app.current_event
    if event.body is None:
        return 0
    return len(base64.b64decode(event.body)) if event.is_base64_encoded else len(event.body.encode("utf-8", "surrogatepass"))


def _rejected_body() -> Response | None:
    """Size and media type come before content: a 413 or 415 beats any parse error."""
    if _body_size() > MAX_BODY_BYTES:
        return _error(413, f"request body exceeds {MAX_BODY_BYTES} bytes", error=PayloadTooLargeError.__name__)
    event = app.current_event
    content_type = (event.headers.get("content-type") or event.headers.get("Content-Type") or "").lower()
    if event.body and not content_type.startswith("application/json"):
        return _error(415, f"Content-Type must be application/json, got {content_type or 'none'!r}",
                      error="UnsupportedMediaType")
    return None


# Powertools validates (and so parses) the body before any middleware of ours runs: the size
# check therefore also runs in the handlers of parse and validation errors, so 413 wins.
@app.exception_handler(UnicodeDecodeError)
def handle_bad_encoding(error: UnicodeDecodeError) -> Response:
    return _rejected_body() or _error(400, "request body is not valid UTF-8", error="BadRequestError")


@app.exception_handler(RequestValidationError)
def handle_validation_error(error: RequestValidationError) -> Response:
    if rejected := _rejected_body():
        return rejected
    if any(detail.get("type") == "json_invalid" for detail in error.errors()):
        return _error(400, "request body is not valid JSON", error="BadRequestError")
    problems = []
    for detail in error.errors():
        location = ".".join(str(part) for part in detail.get("loc", ()) if part != "body")
        problems.append({"field": location or "body", "problem": detail.get("msg", detail.get("type", "invalid"))})
    summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:5])
    return _error(422, f"invalid request: {summary}", error="ValidationError", problems=problems)


# Powertools parses form and multipart bodies itself, and a multipart Content-Type without a
# boundary makes it raise a bare ValueError: such a body is refused for its media type (415).
@app.exception_handler(ValueError)
def handle_unparsable_body(error: ValueError) -> Response:
    if rejected := _rejected_body():
        return rejected
    raise error


# Other media types Powertools refuses itself, with a body of its own ({"statusCode", "detail"}).
@app.exception_handler(RequestUnsupportedContentType)
def handle_unsupported_media(error: RequestUnsupportedContentType) -> Response:
    return _rejected_body() or _error(415, "Content-Type must be application/json", error="UnsupportedMediaType")


@app.not_found
def handle_no_route(_: Exception) -> Response:
    """A known resource asked with a method it lacks is a 405 that names the allowed ones."""
    event = app.current_event
    if allowed := app.allowed_methods(event.path):
        message = f"{event.http_method} is not allowed on {event.path}; allowed: {', '.join(allowed)}"
        return Response(status_code=405, content_type=content_types.APPLICATION_JSON,
                        headers={"Allow": ", ".join(allowed)}, body={"message": message, "error": "MethodNotAllowed"})
    return _error(404, f"no resource at {event.path}", error="NotFoundError")


def reject_large_bodies(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
    """A valid body over the limit is refused before the route runs."""
    return _rejected_body() or next_middleware(app)


app.use(middlewares=[reject_large_bodies])


@app.get("/v1/health")
def health() -> Health:
    return Health(status="ok", service="driftgate")


@app.post("/v1/interactions")
@tracer.capture_method
def post_interactions(request: IngestRequest) -> IngestResponse:
    response = service.ingest(request)
    metrics.add_metric(name="InteractionsAccepted", unit=MetricUnit.Count, value=response.accepted)
    metrics.add_metric(name="InteractionsDuplicate", unit=MetricUnit.Count, value=response.duplicates)
    for result in response.results:
        if result.status == "accepted" and result.quality is not None:
            metrics.add_metric(name="Quality", unit=MetricUnit.NoUnit, value=result.quality)
    return response


@app.post("/v1/feedback")
@tracer.capture_method
def post_feedback(feedback: FeedbackIn) -> FeedbackOut:
    metrics.add_metric(name="Feedback", unit=MetricUnit.Count, value=1)
    return service.add_feedback(feedback)


@app.post("/v1/erasures")
@tracer.capture_method(capture_response=False)  # the receipt names the user: kept out of traces
def post_erasure(request: ErasureIn) -> ErasureReceipt:
    """Erases one end user's interactions (by metadata.user_id) from raw storage, samples and future
    training sets; their items become tombstones. Repeating it is safe and returns zeros."""
    receipt = erase_user(request.user_id)
    metrics.add_metric(name="InteractionsErased", unit=MetricUnit.Count, value=receipt.interactions_erased)
    return receipt


@app.get("/v1/models/<model>/quality")
@tracer.capture_method
def get_quality(model: Annotated[ModelName, Path()]) -> QualityOut:
    return service.quality(model)


@app.get("/v1/models/<model>/drift")
@tracer.capture_method
def get_drift(model: Annotated[ModelName, Path()]) -> dict:
    """The latest drift reports (prompts and outputs): what drifted, how much, with what p-value,
    which clusters grew or shrank, with example texts."""
    return service.latest_drift(model)


@app.post("/v1/models/<model>/baseline")
@tracer.capture_method
def post_baseline(model: Annotated[ModelName, Path()],
                  window: Annotated[Optional[str], Query(max_length=64,  # part of a DynamoDB key (1 KB at most)
                                                         description="window start (ISO 8601); default: latest")] = None,
                  adapter_version: Annotated[Optional[int], Query(ge=0, le=MAX_STORED_INT)] = None) -> QualityOut:
    """Freezes a window as the model's baseline (the promotion of an adapter does this too)."""
    return service.freeze_baseline(model, window, adapter_version)


def _caller() -> str:
    """Who made the request: the SigV4 identity API Gateway authenticated."""
    identity = app.current_event.request_context.identity
    return identity.user_arn or identity.caller or "unknown"


@app.get("/v1/models/<model>/adapters")
@tracer.capture_method
def get_adapters(model: Annotated[ModelName, Path()]) -> dict:
    """Every version of the model's adapters, the production alias and its history."""
    return adapters.list_adapters(model)


@app.get("/v1/models/<model>/adapters/production")
@tracer.capture_method
def get_production(model: Annotated[ModelName, Path()]) -> dict:
    """What apps load: version, S3 URI and sha256 of the adapter in production."""
    return adapters.production(model)


@app.post("/v1/models/<model>/adapters/<version>/promote")
@tracer.capture_method
def post_promote(model: Annotated[ModelName, Path()], version: Annotated[int, Path(ge=1)]) -> dict:
    return adapters.promote(model, version, _caller())


@app.post("/v1/models/<model>/rollback")
@tracer.capture_method
def post_rollback(model: Annotated[ModelName, Path()]) -> dict:
    return adapters.rollback(model, _caller())


@app.post("/v1/models/<model>/retrain")
@tracer.capture_method
def post_retrain(model: Annotated[ModelName, Path()]) -> dict:
    """Starts the retrain pipeline now (same guard as the schedule: one run at a time, cooldown)."""
    return adapters.retrain(model, _caller())


@app.post("/v1/models/<model>/approvals/<version>")
@tracer.capture_method
def post_approval(model: Annotated[ModelName, Path()], version: Annotated[int, Path(ge=1)],
                  decision: ApprovalIn) -> dict:
    return adapters.decide_approval(model, version, decision.approve, _caller(), decision.comment)


@app.get("/v1/openapi.json", include_in_schema=False)
def openapi():  # noqa: ANN201 - a raw Response; an annotation would enter the schema
    """The OpenAPI document of this API, generated from the typed routes."""
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON,
                    body=document_errors(json.loads(app.get_openapi_json_schema(title="driftgate", version="1.0.0"))))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
