"""``driftgate serve``: real HTTP on loopback in front of the real handler."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

from tests.api.test_interactions_api import real_records


def request(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_http_clients_reach_the_handler(base_url) -> None:
    assert request(f"{base_url}/v1/health") == (200, {"status": "ok", "service": "driftgate"})
    records = real_records("Mixtral-8x7B-Instruct-v0.1", 4)
    body = json.dumps({"interactions": records}).encode()
    status, first = request(f"{base_url}/v1/interactions", "POST", body)
    assert status == 200 and first["accepted"] == 4
    status, retry = request(f"{base_url}/v1/interactions", "POST", body)
    assert status == 200 and retry["duplicates"] == 4
    status, quality = request(f"{base_url}/v1/models/support-bot/quality")
    assert status == 200 and quality["current"]["n"] == 4
    unknown = json.dumps({"request_id": "nope", "rating": 1}).encode()
    status, missing = request(f"{base_url}/v1/feedback", "POST", unknown)
    assert status == 404
    status, invalid = request(f"{base_url}/v1/interactions", "POST", b"{not json")
    assert status == 400 and "JSON" in invalid["message"]
    status, spec = request(f"{base_url}/v1/openapi.json")
    assert status == 200 and "/v1/interactions" in spec["paths"]
