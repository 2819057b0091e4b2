"""The driftgate REST API (API Gateway proxy → this Lambda). The routes live in ``routes/``, one
Powertools ``Router`` per resource, typed with pydantic both ways; here are the resolver, every
error mapped to its HTTP answer, the body-size middleware, the OpenAPI document and the handler."""
# No `from __future__ import annotations` here: Powertools reads the route signatures at runtime.
import base64
import json
import re
from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import (
    APIGatewayRestResolver,
    Response,
    content_types,
)
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
    ResponseValidationError,
)
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from functions.api.body import parse_body
from functions.api.models import Health
from functions.api.openapi import document_errors
from functions.api.routes import adapters, canary, explanation, interactions, quality
from functions.common.exceptions import DriftgateError, PayloadTooLargeError

MAX_BODY_BYTES = 1024 * 1024
OPENAPI_PATH = "/v1/openapi.json"

logger = Logger()
tracer = Tracer()
metrics = Metrics()
# An answer that does not match its own model is our bug: a 500, not a 422 blamed on the request.
app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=parse_body,
                             response_validation_error_http_code=HTTPStatus.INTERNAL_SERVER_ERROR)
for routes in (interactions, explanation, quality, adapters, canary):
    app.include_router(routes.router)


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
    if event.is_base64_encoded:
        return len(base64.b64decode(event.body))
    return len(event.body.encode("utf-8", "surrogatepass"))


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


# A route's answer that fails its response model (Powertools checks it, and so does a route that
# builds its model from a stored item) is our bug: a 500 that says so, never a 422 or a crash.
@app.exception_handler([ResponseValidationError, ValidationError])
def handle_invalid_answer(error: ResponseValidationError | ValidationError) -> Response:
    # Where and what, not the values: the answer may hold users' texts.
    logger.error("answer does not match its response model",
                 extra={"errors": [{"loc": e.get("loc"), "type": e.get("type")} for e in error.errors()]})
    return _error(500, "internal error: the answer did not match its documented schema", error="InternalError")


@app.not_found
def handle_no_route(_: Exception) -> Response:
    """A known resource asked with a method it lacks is a 405 that names the allowed ones."""
    event = app.current_event
    allowed = _allowed_methods(event.path)
    if allowed and event.http_method not in allowed:
        message = f"{event.http_method} is not allowed on {event.path}; allowed: {', '.join(allowed)}"
        return Response(status_code=405, content_type=content_types.APPLICATION_JSON,
                        headers={"Allow": ", ".join(allowed)}, body={"message": message, "error": "MethodNotAllowed"})
    return _error(404, f"no resource at {event.path}", error="NotFoundError")


# Powertools keeps its route table private; the OpenAPI document, generated from the same routes,
# is the public view of it. (A path whose parameter Powertools' own pattern refuses, such as one
# with a quote in it, matches a resource here but no route: with the documented method it is a 404.)
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _allowed_methods(path: str) -> list[str]:
    """The methods routed for a raw request path; none when no resource lives there."""
    return sorted({method for pattern, methods in _resources() for method in methods if pattern.fullmatch(path)})


@cache
def _resources() -> list[tuple[re.Pattern[str], list[str]]]:
    """Each path of the OpenAPI document, and the document's own, with its methods."""
    documented = [(path, [m.upper() for m in item if m in HTTP_METHODS])
                  for path, item in openapi_document()["paths"].items()]
    return [(_raw_path_pattern(path), methods) for path, methods in [(OPENAPI_PATH, ["GET"]), *documented]]


def _raw_path_pattern(template: str) -> re.Pattern[str]:
    """/v1/models/{model}/drift → a pattern of the raw paths it routes ({model}: one segment, encoded)."""
    return re.compile("/".join("[^/]+" if part.startswith("{") else re.escape(part) for part in template.split("/")))


def reject_large_bodies(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
    """A valid body over the limit is refused before the route runs."""
    return _rejected_body() or next_middleware(app)


app.use(middlewares=[reject_large_bodies])


@app.get("/v1/health")
def health() -> Health:
    return Health(status="ok", service="driftgate")


@cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of this API, generated once from the typed routes."""
    return document_errors(json.loads(app.get_openapi_json_schema(title="driftgate", version="1.0.0")))


@app.get(OPENAPI_PATH, include_in_schema=False)
def openapi():  # a raw Response, unannotated: an annotation would enter the schema
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_document())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
