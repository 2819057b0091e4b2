"""``driftgate serve``: a localhost HTTP server in front of the local stack's API handler, so real
HTTP clients (curl, requests, schemathesis) can call the API. Each request becomes an API Gateway
proxy event, sent through moto's Lambda Invoke to the real handler."""
from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from driftgate.local.deployment import LocalDeployment

MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's own payload limit


def make_server(stack: LocalDeployment, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    class ApiGatewayHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_REQUEST_BYTES:
                self._send(413, {"message": f"request body exceeds {MAX_REQUEST_BYTES} bytes"}, close=True)
                return
            body = self.rfile.read(length) if length else None
            try:
                text: str | bytes | None = body.decode("utf-8") if body is not None else None
            except UnicodeDecodeError:
                text = body  # sent base64-encoded, as API Gateway does for binary bodies
            response = stack.api(self.command, url.path, raw_body=text, headers=dict(self.headers.items()),
                                 query=dict(parse_qsl(url.query)) or None)
            self._send(response.status, response.body, headers=response.headers)

        def _send(self, status: int, body: Any, *, headers: dict[str, str] | None = None, close: bool = False) -> None:
            payload = (body if isinstance(body, str) else json.dumps(body)).encode()
            self.send_response(status)
            for name, value in (headers or {"Content-Type": "application/json"}).items():
                if name.lower() not in ("content-length", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass

    return ThreadingHTTPServer((host, port), ApiGatewayHandler)
