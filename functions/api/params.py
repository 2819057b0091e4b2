"""Path parameters of the routes, percent-decoded before they are validated.

API Gateway (REST, one ANY /v1/{proxy+} method) gives the handler the path as the client sent it,
and Powertools matches that raw path: a model named "org/model" can only be sent as org%2Fmodel
(":" may come encoded too), and the route would see "org%2Fmodel". Each path parameter type here
decodes first; a route with a path parameter uses one of them."""
from typing import Annotated
from urllib.parse import unquote

from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BeforeValidator, Field

from functions.interactions.models import ModelName, RequestId


def _decoded(value: object) -> object:
    return unquote(value) if isinstance(value, str) else value


Decoded = BeforeValidator(_decoded)
ModelPath = Annotated[ModelName, Decoded, Path(description="the model's name, percent-encoded where it has / or :")]
VersionPath = Annotated[int, Field(ge=1), Decoded, Path(description="an adapter version")]
RequestIdPath = Annotated[RequestId, Decoded, Path(description="an interaction's request_id, percent-encoded "
                                                               "where it has / or other reserved characters")]
