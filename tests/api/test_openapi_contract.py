"""The OpenAPI document against the API's answers: every route documents the body of its success,
the bodies the routes answer validate against the document, a percent-encoded model name reaches
every model route decoded, and a method a documented path lacks is a 405 naming the ones it has."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

import boto3
from jsonschema import Draft202012Validator

from driftgate.local.deployment import REGION
from tests.api.test_interactions_api import real_records

ROUTES = {
    "GET /v1/health", "POST /v1/interactions", "POST /v1/feedback", "POST /v1/erasures",
    "GET /v1/models/{model}/quality", "POST /v1/models/{model}/baseline", "GET /v1/models/{model}/drift",
    "GET /v1/models/{model}/adapters", "GET /v1/models/{model}/adapters/production",
    "POST /v1/models/{model}/adapters/{version}/promote", "POST /v1/models/{model}/rollback",
    "POST /v1/models/{model}/retrain", "POST /v1/models/{model}/approvals/{version}",
    "GET /v1/models/{model}/adapters/serving", "GET /v1/models/{model}/canary", "POST /v1/models/{model}/canary/abort",
    "GET /v1/interactions/{request_id}/explanation",
}
MONITORED = "support-bot"  # the model the stack's scheduled check watches by default


def document(local) -> dict[str, Any]:
    response = local.api("GET", "/v1/openapi.json")
    assert response.status == 200
    return response.json()


def operations(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{method.upper()} {path}": operation for path, item in spec["paths"].items()
            for method, operation in item.items()}


def assert_documented(spec: dict[str, Any], route: str, response) -> Any:
    """The answer's body validates against what the document says of its status; returns it."""
    responses = operations(spec)[route]["responses"]
    documented = responses.get(str(response.status)) or responses[f"{response.status // 100}XX"]
    schema = documented["content"]["application/json"]["schema"]
    body = response.json()
    errors = list(Draft202012Validator({**schema, "components": spec["components"]}).iter_errors(body))
    assert not errors, f"{route} answered {response.status} off its schema: {[e.message for e in errors[:3]]}"
    return body


def test_every_route_documents_a_response_schema_for_its_success_status(local) -> None:
    spec = document(local)
    assert set(operations(spec)) == ROUTES
    schemas = spec["components"]["schemas"]
    for route, operation in operations(spec).items():
        successes = [status for status in operation["responses"] if status.startswith("2")]
        assert successes, f"{route} documents no success"
        for status in successes:
            schema = operation["responses"][status]["content"]["application/json"]["schema"]
            name = schema.get("$ref", "").removeprefix("#/components/schemas/")
            # A named model with its fields, not a bare {"type": "object"} (what a `-> dict` route gets).
            assert name in schemas and schemas[name].get("properties"), f"{route} {status}: {schema}"


def test_the_answers_of_every_route_validate_against_the_document(local) -> None:
    spec = document(local)
    seen: set[str] = set()

    def call(route: str, path: str | None = None, body: Any = None, *, status: int = 200,
             query: dict[str, str] | None = None) -> Any:
        method, template = route.split(" ", 1)
        response = local.api(method, path or template, body, query=query)
        assert response.status == status, (route, response.body)
        seen.add(route)
        return assert_documented(spec, route, response)

    model = f"/v1/models/{MONITORED}"
    call("GET /v1/health")
    call("GET /v1/models/{model}/quality", f"{model}/quality", status=404)
    call("GET /v1/models/{model}/drift", f"{model}/drift", status=404)
    records = real_records("gpt4_1106_preview", 60, model=MONITORED)
    records[0]["metadata"]["user_id"] = "alice"
    assert call("POST /v1/interactions", body={"interactions": records})["accepted"] == 60
    call("POST /v1/feedback", body={"request_id": records[1]["request_id"], "rating": 5})
    call("POST /v1/models/{model}/baseline", f"{model}/baseline")
    later = real_records("alpaca-7b", 60, start=60, model=MONITORED)
    for record in later:
        record["timestamp"] = "2026-11-21T10:00:00Z"  # the next day's window
    call("POST /v1/interactions", body={"interactions": later})
    call("GET /v1/models/{model}/quality", f"{model}/quality")
    # The drift reports the API answers are the ones the real scheduled check stores.
    (check,) = local.fire_schedule()[0]["checks"]
    assert set(check["drift"]) == {"prompt", "output"}, check
    reports = call("GET /v1/models/{model}/drift", f"{model}/drift")["reports"]
    assert set(reports) == {"prompt", "output"} and all(r["tests"] for r in reports.values())
    explanation = "GET /v1/interactions/{request_id}/explanation"
    call(explanation, f"/v1/interactions/{quote(records[1]['request_id'], safe='')}/explanation")
    call("POST /v1/erasures", body={"user_id": "alice"})
    call(explanation, f"/v1/interactions/{quote(records[0]['request_id'], safe='')}/explanation", status=404)

    call("GET /v1/models/{model}/adapters", f"{model}/adapters", status=404)
    with local.environment("Register"):
        from functions.registry.store import registry

        for n in (1, 2):
            registry().register(MONITORED, {"s3_uri": f"s3://a/{n}/model.tar.gz", "sha256": f"{n:064x}",
                                            "base_model": None, "gate": {"decision": "promote", "ci_low": 0.01 * n},
                                            "approval": "not-applicable", "execution_arn": f"arn:run:{n}"})
    for version in (1, 2):
        call("POST /v1/models/{model}/adapters/{version}/promote", f"{model}/adapters/{version}/promote")
    production = call("GET /v1/models/{model}/adapters/production", f"{model}/adapters/production")
    assert production["version"] == 2
    assert call("POST /v1/models/{model}/rollback", f"{model}/rollback")["version"] == 1
    listed = call("GET /v1/models/{model}/adapters", f"{model}/adapters")
    assert [v["version"] for v in listed["versions"]] == [1, 2] and len(listed["history"]) == 3
    assert listed["versions"][0]["base_model"] is None and "approved_by" not in listed["versions"][0]
    call("GET /v1/models/{model}/canary", f"{model}/canary", status=404)
    with local.environment("Register"):
        registry().register(MONITORED, {"s3_uri": "s3://a/3/model.tar.gz", "sha256": f"{3:064x}", "base_model": None,
                                        "gate": {"decision": "promote"}, "approval": "not-applicable",
                                        "execution_arn": "arn:run:3"})
    local.invoke("StartCanary", {"model": MONITORED, "version": 3, "execution_arn": "arn:run:3"})
    assert call("GET /v1/models/{model}/adapters/serving", f"{model}/adapters/serving",
                query={"unit": "u1"})["version"] in (1, 3)
    assert call("GET /v1/models/{model}/canary", f"{model}/canary")["status"] == "running"
    assert call("POST /v1/models/{model}/canary/abort", f"{model}/canary/abort")["status"] == "aborted"
    # The success of an approval needs a run waiting on its task token (tests/pipeline/test_approval.py).
    call("POST /v1/models/{model}/approvals/{version}", f"{model}/approvals/1", {"approve": True}, status=409)
    started = call("POST /v1/models/{model}/retrain", "/v1/models/no-data/retrain")
    assert local.wait(started["execution_arn"], timeout_s=120).status == "SUCCEEDED"
    if check.get("execution_arn"):
        local.wait(check["execution_arn"], timeout_s=120)
    assert seen == ROUTES


def test_a_percent_encoded_model_name_reaches_every_model_route_decoded(local) -> None:
    """A model named org/bot:v1 can only be sent as org%2Fbot%3Av1: each route sees the name."""
    name = "org/bot:v1"
    for route in sorted(r for r in operations(document(local)) if "{model}" in r):
        method, template = route.split(" ", 1)
        path = template.replace("{model}", quote(name, safe="")).replace("{version}", "1")
        response = local.api(method, path, {"approve": True} if "approvals" in route else None,
                             query={"unit": "u"} if route.endswith("/serving") else None)
        assert response.status != 422 and name in response.body, (route, response.status, response.body)
        if route.endswith("/retrain"):
            assert local.wait(response.json()["execution_arn"], timeout_s=120).status == "SUCCEEDED"


def test_a_method_a_documented_path_lacks_is_a_405_naming_the_ones_it_has(local) -> None:
    spec = document(local)
    paths = {path: sorted(m.upper() for m in item) for path, item in spec["paths"].items()}
    for path, methods in {**paths, "/v1/openapi.json": ["GET"]}.items():
        raw = path.replace("{model}", "org%2Fbot").replace("{version}", "3").replace("{request_id}", "a%2Fb")
        response = local.api("DELETE", raw)
        assert response.status == 405 and response.headers["Allow"] == ", ".join(methods), (path, response.body)
        assert_documented(spec, "GET /v1/health", response)  # the error format every 4xx has
    assert local.api("DELETE", "/v1/models/org%2Fbot").status == 404


def test_an_answer_that_breaks_its_own_model_is_a_500_not_a_422(local) -> None:
    """A stored drift report the response model cannot read is the API's fault, and says so."""
    state = boto3.resource("dynamodb", region_name=REGION).Table(local.find("AWS::DynamoDB::Table", "StorageState"))
    state.put_item(Item={"pk": "MODEL#m", "sk": "DRIFT#2026-11-20T00:00:00+00:00#prompt", "field": "prompt",
                         "window": "2026-11-20T00:00:00+00:00", "checked_at": "2026-11-21T00:00:00+00:00",
                         "report": {"drift": True}})
    response = local.api("GET", "/v1/models/m/drift")
    assert response.status == 500 and response.json()["error"] == "InternalError", response.body
    assert "schema" in response.json()["message"]
