"""The driftgate REST API (API Gateway proxy → this Lambda). Routes are typed with pydantic;
Powertools validates requests and serves the OpenAPI document."""
# No `from __future__ import annotations` here: Powertools reads the route signatures at runtime.

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from functions.common.exceptions import DriftgateError

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver(enable_validation=True)


class Health(BaseModel):
    status: str
    service: str


@app.exception_handler(DriftgateError)
def handle_domain_error(error: DriftgateError) -> Response:
    """Every domain error maps to its HTTP status here, and only here."""
    if error.status >= 500:
        logger.exception("request failed")
    return Response(status_code=error.status, content_type=content_types.APPLICATION_JSON,
                    body={"message": error.message, "error": type(error).__name__})


@app.get("/v1/health")
@tracer.capture_method
def health() -> Health:
    return Health(status="ok", service="driftgate")


@app.get("/v1/openapi.json")
def openapi() -> Response:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON,
                    body=app.get_openapi_json_schema(title="driftgate", version="1.0.0"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
