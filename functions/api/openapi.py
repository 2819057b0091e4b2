"""The OpenAPI document as the API actually answers. Powertools documents a 200, its own 422 body
({"detail": [...]}) and, for an answer that fails its response model, a 500 of its own; every
error of this API is {"message", "error"[, "problems"]} (app.py), with 400, 404, 409, 413, 415 or
422, and a 500 is a bug, not part of the contract. Clients and fuzzers (schemathesis) read this
document."""
from __future__ import annotations

from typing import Any

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["message"],
    "properties": {
        "message": {"type": "string", "description": "what is wrong with the request, in words"},
        "error": {"type": "string", "description": "the kind of error, e.g. ValidationError, NotFoundError"},
        "problems": {
            "type": "array",
            "description": "for a 422: each invalid field and what is wrong with it",
            "items": {"type": "object", "required": ["field", "problem"],
                      "properties": {"field": {"type": "string"}, "problem": {"type": "string"}}},
        },
    },
}
CLIENT_ERROR = {
    "description": "the request was refused; the message names the problem",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def document_errors(spec: dict[str, Any]) -> dict[str, Any]:
    """Replaces each operation's 422 and 500 (Powertools' bodies) with the 4XX range this API answers."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):  # Powertools' bodies, unused
        schemas.pop(name, None)
    for path in spec.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            responses.pop("500", None)
            responses["4XX"] = CLIENT_ERROR
    return spec
