"""The REST API under fuzzing, over real HTTP: ``driftgate serve`` (a ThreadingHTTPServer in front
of the local stack's real handler on moto) with requests schemathesis generates from the OpenAPI
document the server itself serves, then hand-made hostile inputs the generator does not reach
(deep nesting, broken encodings, unicode edge cases, malformed HTTP).

What must hold: every request gets a 2xx or a 4xx within a timeout, never a 5xx or a hang; each
refusal is JSON whose message names the problem; valid unicode round-trips intact; and the real
interactions stored before the fuzzing read back unchanged after it.

Run with ``-s`` to see the summary (cases per operation, status classes); it is also written to
``fuzz-summary.json`` in the pytest temp dir."""
from __future__ import annotations

import json
import socket
import threading
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import boto3
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import positive_data_acceptance
from schemathesis.generation import GenerationMode

from driftgate.local import local_stack
from driftgate.local.deployment import REGION, LocalDeployment
from driftgate.local.server import make_server
from driftgate.testing.realdata import alpaca_records, gsm8k_records

# Every handler call warns that it published no metric: noise here.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

TIMEOUT_S = 20  # per request: a hang fails the test instead of stalling it
CLIENT_TIMEOUT_S = 2.0  # how long the server waits for bytes a client announced
EXAMPLES_PER_OPERATION = 20
FUZZ_SETTINGS: dict[str, Any] = dict(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, database=None,
                                     deadline=None, suppress_health_check=list(HealthCheck))
SEED_MODEL = "support-bot"
EDGE_MODEL = "fuzz-edge"
# Filled by the fuzz test: operation label -> Counter of "cases", "2xx", "4xx", "5xx".
TALLY: dict[str, Counter[str]] = defaultdict(Counter)


@dataclass
class Served:
    stack: LocalDeployment
    base_url: str
    seeds: list[dict[str, Any]]
    before: dict[str, Any] = field(default_factory=dict)

    def post(self, path: str, body: Any = None, *, data: bytes | None = None,
             headers: dict[str, str] | None = None) -> requests.Response:
        if data is None and body is not None:
            data = json.dumps(body).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        return requests.post(f"{self.base_url}{path}", data=data, headers=headers, timeout=TIMEOUT_S)


def stored(stack: LocalDeployment, model: str, request_ids: list[str]) -> dict[str, Any]:
    """Everything kept about a model: its interaction items, raw S3 lines and state items."""
    interactions = boto3.resource("dynamodb", region_name=REGION).Table(
        stack.find("AWS::DynamoDB::Table", "StorageInteractions"))
    state = boto3.resource("dynamodb", region_name=REGION).Table(stack.find("AWS::DynamoDB::Table", "StorageState"))
    s3 = boto3.client("s3", region_name=REGION)
    bucket = stack.find("AWS::S3::Bucket", "StorageRawInteractions")
    objects = s3.list_objects_v2(Bucket=bucket, Prefix=f"raw/model={model}/").get("Contents", [])
    return {
        "items": {rid: interactions.get_item(Key={"request_id": rid}).get("Item") for rid in request_ids},
        "raw": {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in objects},
        "state": state.query(KeyConditionExpression="pk = :pk",
                             ExpressionAttributeValues={":pk": f"MODEL#{model}"})["Items"],
    }


def raw_lines(stack: LocalDeployment, model: str) -> dict[str, dict[str, Any]]:
    """The raw S3 records of a model by request id, as stored (JSON lines)."""
    lines = (line for body in stored(stack, model, [])["raw"].values() for line in body.decode().splitlines())
    return {record["request_id"]: record for record in map(json.loads, lines)}


@pytest.fixture(scope="module")
def served(synthesized_template: dict[str, Any]) -> Iterator[Served]:
    with local_stack(synthesized_template) as stack:
        server = make_server(stack, port=0, client_timeout_s=CLIENT_TIMEOUT_S)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        seeds = alpaca_records("gpt4_1106_preview", 20, model=SEED_MODEL) + gsm8k_records(5, model=SEED_MODEL,
                                                                                           day="2026-11-21")
        here = Served(stack, f"http://127.0.0.1:{server.server_port}", seeds)
        assert here.post("/v1/interactions", {"interactions": seeds}).json()["accepted"] == 25
        assert here.post("/v1/feedback", {"request_id": seeds[0]["request_id"], "rating": 4}).status_code == 200
        assert here.post(f"/v1/models/{SEED_MODEL}/baseline").status_code == 200
        quality = requests.get(f"{here.base_url}/v1/models/{SEED_MODEL}/quality", timeout=TIMEOUT_S).json()
        here.before = {"stored": stored(stack, SEED_MODEL, [s["request_id"] for s in seeds]), "quality": quality}
        try:
            yield here
        finally:
            finished_executions(stack)  # no state machine may still run when moto stops
            server.shutdown()
            server.server_close()


def finished_executions(stack: LocalDeployment) -> list[Any]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    listed = sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"]
    return [stack.wait(e["executionArn"], timeout_s=120) for e in listed]


@pytest.fixture(scope="module")
def api_schema(served: Served) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{served.base_url}/v1/openapi.json", timeout=TIMEOUT_S)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    # schemathesis 4.32.5's from_fixture reads and renames Node._nodeid, which pytest 9.2 dropped
    # (it keeps Node._id): give it the attribute it expects.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


# Every other schemathesis check runs. positive_data_acceptance is left out: the API rightly
# refuses some schema-valid requests for rules JSON Schema cannot state (a rating outside its
# scale, a timestamp outside 1900..9999, a number DynamoDB cannot store, an integral float).
@schema.parametrize()
@settings(**FUZZ_SETTINGS)
def test_generated_requests_get_a_2xx_or_4xx(case: schemathesis.Case, served: Served) -> None:
    check_case(case, served)


def check_case(case: schemathesis.Case, served: Served) -> None:
    """One generated request: tallied, and its answer validated against the spec."""
    response = case.call(base_url=served.base_url, timeout=TIMEOUT_S)
    if case.operation.label == "POST /v1/models/{model}/retrain" and response.status_code == 200:
        # Finish each fuzzed run before the next request, so that the runs checked below are
        # exactly the fuzzed ones and none is left going when the stack stops.
        served.stack.wait(response.json()["execution_arn"], timeout_s=120)
    tally = TALLY[case.operation.label]
    tally["cases"] += 1
    tally[f"{response.status_code // 100}xx"] += 1
    case.validate_response(response, excluded_checks=[positive_data_acceptance])


@pytest.fixture(scope="module")
def fuzzed(served: Served, api_schema: schemathesis.BaseSchema) -> dict[str, Counter[str]]:
    """The tally of the fuzz run; when the summary tests run on their own, they fuzz first."""
    if not TALLY:
        for result in api_schema.get_all_operations():
            operation = result.ok()
            strategy = st.one_of([operation.as_strategy(mode) for mode in GenerationMode])

            @given(case=strategy)
            @settings(**FUZZ_SETTINGS)
            def run(case: schemathesis.Case) -> None:
                check_case(case, served)

            run()
    return TALLY


def fuzz_summary() -> dict[str, Any]:
    totals = sum(TALLY.values(), Counter())
    return {"operations": len(TALLY), "requests": totals["cases"], "status_classes":
            {k: v for k, v in totals.items() if k != "cases"}, "per_operation": {k: dict(v) for k, v in TALLY.items()}}


def test_fuzzing_covered_every_operation_without_a_5xx(served: Served, fuzzed: Any,
                                                       tmp_path_factory: pytest.TempPathFactory) -> None:
    summary = fuzz_summary()
    operations = {f"{method.upper()} {path}" for path, item in
                  requests.get(f"{served.base_url}/v1/openapi.json", timeout=TIMEOUT_S).json()["paths"].items()
                  for method in item}
    assert set(TALLY) == operations
    assert all(t["cases"] >= 1 for t in TALLY.values())
    assert summary["requests"] >= 8 * len(operations) and summary["status_classes"].get("5xx", 0) == 0
    assert summary["status_classes"]["2xx"] > 0 and summary["status_classes"]["4xx"] > 0
    path = tmp_path_factory.mktemp("fuzz") / "fuzz-summary.json"
    path.write_text(json.dumps(summary, indent=2))
    print(f"\nfuzz summary ({path}):\n{json.dumps(summary, indent=2)}")


def test_data_stored_before_fuzzing_reads_back_unchanged(served: Served, fuzzed: Any) -> None:
    ids = [s["request_id"] for s in served.seeds]
    assert stored(served.stack, SEED_MODEL, ids) == served.before["stored"]
    quality = requests.get(f"{served.base_url}/v1/models/{SEED_MODEL}/quality", timeout=TIMEOUT_S)
    assert quality.json() == served.before["quality"]
    lines = raw_lines(served.stack, SEED_MODEL)
    assert [(lines[s["request_id"]]["prompt"], lines[s["request_id"]]["output"]) for s in served.seeds] == \
        [(s["prompt"], s["output"]) for s in served.seeds]
    retry = served.post("/v1/interactions", {"interactions": served.seeds}).json()
    assert retry["duplicates"] == 25 and retry["accepted"] == 0


def test_fuzzed_retrains_ended_skipped_without_data(served: Served, fuzzed: Any) -> None:
    """POST /retrain is fuzzed too: for a model with no data the run must end SKIPPED, quickly."""
    runs = finished_executions(served.stack)
    assert runs and TALLY["POST /v1/models/{model}/retrain"]["2xx"] == len(runs)
    outcomes = {(run.status, (run.output or {}).get("status")) for run in runs}
    odd = [(run.arn, run.status, run.error, run.cause, run.states) for run in runs if run.status != "SUCCEEDED"]
    assert outcomes == {("SUCCEEDED", "SKIPPED")}, odd or outcomes


# -- hostile bodies the generator does not produce ------------------------------------------------

def real_text(n: int, start: int = 0) -> str:
    return "\n\n".join(r["output"] for r in alpaca_records("Mixtral-8x7B-Instruct-v0.1", n, start=start))


def interaction(request_id: str, **fields: Any) -> dict[str, Any]:
    seed = alpaca_records("alpaca-7b", 1, start=300)[0]
    return {**seed, "request_id": request_id, "model": EDGE_MODEL, **fields}


def body(*records: dict[str, Any]) -> bytes:
    return json.dumps({"interactions": list(records)}).encode()


def with_raw(record: dict[str, Any], name: str, literal: str) -> bytes:
    """A body whose field ``name`` holds ``literal`` verbatim (JSON json.dumps would not write)."""
    return body(record).replace(json.dumps(record[name]).encode(), literal.encode(), 1)


DEEP = 10_000
HOSTILE = [
    ("10k nested arrays", "/v1/interactions", b'{"interactions": ' + b"[" * DEEP + b"]" * DEEP + b"}", 400,
     "too deeply"),
    ("10k nested objects", "/v1/feedback", b'{"x": ' * DEEP + b"1" + b"}" * DEEP, 400, "too deeply"),
    ("over 1 MiB of nesting", "/v1/feedback", b"[" * (1024 * 1024 + 1), 413, "exceeds"),
    ("lone high surrogate", "/v1/interactions", with_raw(interaction("s1", prompt="?"), "prompt", r'"a\ud800b"'),
     400, "U+D800"),
    ("lone low surrogate in a key", "/v1/interactions",
     with_raw(interaction("s2", metadata={"k": 1}), "metadata", r'{"\udfff": 1}'), 400, "U+DFFF"),
    ("reversed surrogate pair", "/v1/feedback", rb'{"request_id": "\udc00\ud800", "rating": 1}', 400, "surrogate"),
    ("NaN", "/v1/interactions", with_raw(interaction("n1", metadata={"k": 1}), "metadata", '{"k": NaN}'), 400, "NaN"),
    ("-Infinity", "/v1/feedback", b'{"request_id": "x", "rating": -Infinity}', 400, "Infinity"),
    ("5000-digit integer", "/v1/feedback", b'{"request_id": "x", "rating": ' + b"9" * 5000 + b"}", 400, "digits"),
    ("60-digit metadata integer", "/v1/interactions", body(interaction("i1", metadata={"k": 10**60})), 422,
     "interactions.0.metadata.k"),
    ("metadata number past DynamoDB's range", "/v1/interactions", body(interaction("i2", metadata={"k": 1e300})), 422,
     "1e126"),
    ("subnormal metadata number", "/v1/interactions", body(interaction("i3", metadata={"k": 5e-324})), 422, "1e-130"),
    ("40-digit adapter_version", "/v1/interactions", body(interaction("i4", adapter_version=10**40)), 422,
     "adapter_version"),
    ("timestamp that overflows in UTC", "/v1/interactions",
     body(interaction("t1", timestamp="0001-01-01T00:00:00+14:00")), 422, "timestamp"),
    ("100k-character metadata key", "/v1/interactions", body(interaction("k1", metadata={"k" * 100_000: 1})), 422,
     "interactions.0.metadata"),
    ("metadata text over 512 characters", "/v1/interactions", body(interaction("k2", metadata={"note": real_text(1)})),
     422, "interactions.0.metadata.note"),
    ("correction over DynamoDB's item budget", "/v1/feedback",
     json.dumps({"request_id": "x", "rating": 1, "correction": real_text(60)}).encode(), 422, "correction"),
    ("257-character request_id", "/v1/interactions", body(interaction("r" * 257)), 422, "interactions.0.request_id"),
    ("invalid UTF-8", "/v1/feedback", b'{"request_id": "\xff\xfe", "rating": 1}', 400, "UTF-8"),
    ("UTF-8-encoded surrogate", "/v1/feedback", b'{"request_id": "\xed\xa0\x80", "rating": 1}', 400, "UTF-8"),
    ("overlong UTF-8", "/v1/feedback", b'{"request_id": "\xc0\xaf", "rating": 1}', 400, "UTF-8"),
]


@pytest.mark.parametrize(("path", "data", "status", "named"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_body_is_a_4xx_naming_the_problem(served: Served, path: str, data: bytes, status: int,
                                                  named: str) -> None:
    response = served.post(path, data=data, headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    assert named in response.json()["message"]


@pytest.mark.parametrize(("content_type", "named"), [("text/plain", "text/plain"), (None, "none"),
                                                     ("multipart/form-data", "multipart/form-data")])
def test_wrong_content_type_is_415_on_every_body_route(served: Served, content_type: str | None, named: str) -> None:
    for path, payload in [("/v1/feedback", {"request_id": "x", "rating": 1}),
                          (f"/v1/models/{EDGE_MODEL}/approvals/1", {"approve": True})]:
        headers = {"Content-Type": content_type} if content_type else {}
        response = served.post(path, data=json.dumps(payload).encode(), headers=headers)
        assert response.status_code == 415 and named in response.json()["message"], response.text


# Valid text that breaks naive code: each must be stored and read back code point for code point.
UNICODE = {
    "emoji": "👩🏽‍💻 ships 🚀 — 🇺🇦 👨‍👩‍👧‍👦",
    "rtl marks": "\u200fשלום\u200e and \u202eevil\u202c مرحبا",
    "combining": "e" + "\u0301" * 40 + " Z\u0351\u0362a\u0337l\u0335g\u0334o",
    "nul and controls": "nul\x00byte\x01\x7f",
    "bom and noncharacters": "\ufeffBOM \ufffe \uffff \U0010ffff",
}


@pytest.mark.parametrize("text", UNICODE.values(), ids=UNICODE.keys())
def test_valid_unicode_round_trips_intact(served: Served, text: str) -> None:
    request_id = f"uni-{text}"
    sent = interaction(request_id, prompt=f"{text}\n{real_text(1, start=10)[:300]}", output=f"{text} 😀",
                       metadata={text[:100]: text[:500]})
    # ensure_ascii=False: the text goes as UTF-8 on the wire, not as escapes.
    response = served.post("/v1/interactions", data=json.dumps({"interactions": [sent]}, ensure_ascii=False).encode(),
                           headers={"Content-Type": "application/json; charset=utf-8"})
    assert response.status_code == 200, response.text
    result = response.json()["results"][0]
    assert (result["request_id"], result["status"]) == (request_id, "accepted")
    kept = raw_lines(served.stack, EDGE_MODEL)[request_id]
    assert (kept["prompt"], kept["output"], kept["metadata"]) == (sent["prompt"], sent["output"], sent["metadata"])
    assert stored(served.stack, EDGE_MODEL, [request_id])["items"][request_id]["metadata"] == sent["metadata"]
    # Feedback finds the record by its exact id, and nothing by a normalized look-alike.
    assert served.post("/v1/feedback", {"request_id": request_id, "rating": 1}).status_code == 200
    if (normalized := unicodedata.normalize("NFC", request_id)) != request_id:
        assert served.post("/v1/feedback", {"request_id": normalized, "rating": 1}).status_code == 404


def test_huge_valid_output_is_accepted_and_stored_intact(served: Served) -> None:
    output = real_text(805)[: 850 * 1024]  # real answers: as much as fits under the 1 MiB body limit
    payload = {"interactions": [interaction("huge", output=output, expected_format="json")]}
    assert 800 * 1024 < len(json.dumps(payload)) <= 1024 * 1024
    response = served.post("/v1/interactions", payload)
    assert response.status_code == 200, response.text
    assert "invalid_json" in response.json()["results"][0]["flags"]
    assert raw_lines(served.stack, EDGE_MODEL)["huge"]["output"] == output


def test_deeply_nested_output_is_scored_not_crashed(served: Served) -> None:
    """Scoring parses outputs that should be JSON: one nested past the parser is invalid, not a 500."""
    response = served.post("/v1/interactions", {"interactions": [interaction("deep-json", output="[" * DEEP,
                                                                             expected_format="json")]})
    assert response.status_code == 200, response.text
    assert "invalid_json" in response.json()["results"][0]["flags"]


def test_model_names_that_need_percent_encoding_are_reachable(served: Served) -> None:
    """A model named org/model can only be addressed as org%2Fmodel: the routes decode it."""
    for model in ("org/model-7b", "org:model.v2"):
        assert served.post("/v1/interactions", {"interactions": [interaction(f"pct-{model}", model=model)]}).ok
        quality = requests.get(f"{served.base_url}/v1/models/{quote(model, safe='')}/quality", timeout=TIMEOUT_S)
        assert quality.status_code == 200 and quality.json()["model"] == model and quality.json()["current"]["n"] == 1
    junk = requests.get(f"{served.base_url}/v1/models/%ff%00/quality", timeout=TIMEOUT_S)
    assert junk.status_code == 422 and "path.model" in junk.json()["message"]


def test_retrains_of_models_with_similar_names_both_start(served: Served) -> None:
    """Execution names are sanitized model names: "a.b" and "a:b" once collided (a 500 and a
    retrain lock held for 12 hours)."""
    long = "m" * 70
    for model in ("fz.a", "fz:a", f"{long}1", f"{long}2"):
        response = served.post(f"/v1/models/{quote(model, safe='')}/retrain")
        assert response.status_code == 200, response.text


# -- malformed HTTP -------------------------------------------------------------------------------

def exchange(served: Served, request: bytes) -> tuple[bytes, float]:
    """Sends raw bytes; reads until the server closes. Returns (response, seconds taken)."""
    url = urlsplit(served.base_url)
    started = time.monotonic()
    with socket.create_connection((url.hostname, url.port), timeout=TIMEOUT_S) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received, time.monotonic() - started


def head(path: str, *lines: str) -> bytes:
    return "\r\n".join([f"POST {path} HTTP/1.1", "Host: localhost", "Content-Type: application/json",
                        *lines, "", ""]).encode()


MALFORMED = [
    ("negative Content-Length", head("/v1/feedback", "Content-Length: -1"), b"400", b"Content-Length"),
    ("non-numeric Content-Length", head("/v1/feedback", "Content-Length: ten"), b"400", b"Content-Length"),
    ("chunked body", head("/v1/feedback", "Transfer-Encoding: chunked") + b"2\r\n{}\r\n0\r\n\r\n", b"411", b"chunked"),
    ("11 MiB announced", head("/v1/interactions", f"Content-Length: {11 * 1024 * 1024}"), b"413", b"exceeds"),
    ("body shorter than announced", head("/v1/feedback", "Content-Length: 100") + b'{"request_id":', b"408",
     b"incomplete"),
]


@pytest.mark.parametrize(("request_bytes", "status", "named"), [m[1:] for m in MALFORMED],
                         ids=[m[0] for m in MALFORMED])
def test_malformed_http_is_answered_and_closed(served: Served, request_bytes: bytes, status: bytes,
                                               named: bytes) -> None:
    response, took = exchange(served, request_bytes)
    assert response.startswith(b"HTTP/1.1 " + status), response[:200]
    assert named in response.partition(b"\r\n\r\n")[2]
    assert took < CLIENT_TIMEOUT_S + 5


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "PUT", "TRACE"])
def test_a_method_a_resource_lacks_is_a_405_naming_the_allowed_ones(served: Served, method: str) -> None:
    """TRACE once got the stdlib's HTML 501; the others a 404 as if /v1/health did not exist."""
    response = requests.request(method, f"{served.base_url}/v1/health", timeout=TIMEOUT_S)
    assert response.status_code == 405 and "GET" in response.headers["Allow"].split(", ")
    if method == "HEAD":
        assert response.content == b""  # announced by Content-Length, never sent
    else:
        assert method in response.json()["message"]


def test_an_unknown_resource_is_a_404_in_the_api_error_format(served: Served) -> None:
    response = requests.get(f"{served.base_url}/v1/nothing/here", timeout=TIMEOUT_S)
    assert response.status_code == 404 and "/v1/nothing/here" in response.json()["message"]


def test_a_failing_handler_is_a_502_not_a_dropped_connection(served: Served) -> None:
    """What API Gateway answers when the Lambda fails (here: its runtime's timeout)."""
    served.stack.faults.lambda_timeout("ApiHandler", times=1)
    failed = requests.get(f"{served.base_url}/v1/health", timeout=TIMEOUT_S)
    assert failed.status_code == 502 and failed.json() == {"message": "Internal server error"}
    assert requests.get(f"{served.base_url}/v1/health", timeout=TIMEOUT_S).status_code == 200
