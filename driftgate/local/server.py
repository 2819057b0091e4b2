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
# What the API's one method (ANY /v1/{proxy+}) takes; API Gateway has no other.
METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
# How long a client may leave the server waiting for the bytes it announced.
CLIENT_TIMEOUT_S = 30.0


def make_server(stack: LocalDeployment, host: str = "127.0.0.1", port: int = 8000, *,
                client_timeout_s: float = CLIENT_TIMEOUT_S) -> ThreadingHTTPServer:
    class ApiGatewayHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = client_timeout_s  # socket timeout: a stalled client cannot hold a thread forever

        def _forward(self) -> None:
            url = urlsplit(self.path)
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                # Unread chunks would be parsed as the next request: refuse and close.
                self._send(411, {"message": "chunked request bodies are not supported: send Content-Length"},
                           close=True)
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0:  # rfile.read(-1) would wait for the client to close the connection
                self._send(400, {"message": "Content-Length must be a non-negative integer"}, close=True)
                return
            if length > MAX_REQUEST_BYTES:
                self._send(413, {"message": f"request body exceeds {MAX_REQUEST_BYTES} bytes"}, close=True)
                return
            try:
                body = self.rfile.read(length) if length else None
            except TimeoutError:  # the client announced more than it sent
                self._send(408, {"message": f"request body incomplete: {length} bytes announced, "
                                            f"not all sent within {client_timeout_s:g} s"}, close=True)
                return
            try:
                text: str | bytes | None = body.decode("utf-8") if body is not None else None
            except UnicodeDecodeError:
                text = body  # sent base64-encoded, as API Gateway does for binary bodies
            # proxy_event defaults Content-Type to JSON for local callers: an HTTP client's own
            # header (or its absence, as "") must reach the handler instead, under one spelling.
            headers = {k: v for k, v in self.headers.items() if k.lower() != "content-type"}
            headers["Content-Type"] = self.headers.get("Content-Type", "")
            try:
                response = stack.api(self.command, url.path, raw_body=text, headers=headers,
                                     query=dict(parse_qsl(url.query)) or None)
            except Exception:  # the handler failed (a Lambda error): API Gateway answers 502
                self._send(502, {"message": "Internal server error"})
                return
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
            if self.command != "HEAD":  # a HEAD response announces the body's length but sends none
                self.wfile.write(payload)

        def __getattr__(self, name: str) -> Any:
            # The stdlib looks up do_<METHOD>: METHODS go to the handler, any other (TRACE, CONNECT,
            # made-up ones) is a 405 here, where the stdlib would answer an HTML 501.
            if not name.startswith("do_"):
                raise AttributeError(name)
            return self._forward if name[3:] in METHODS else self._not_allowed

        def _not_allowed(self) -> None:
            self._send(405, {"message": f"method {self.command} is not supported; use one of {', '.join(METHODS)}"},
                       headers={"Content-Type": "application/json", "Allow": ", ".join(METHODS)}, close=True)

        def log_message(self, format: str, *args: Any) -> None:  # the stdlib's signature
            pass

    return ThreadingHTTPServer((host, port), ApiGatewayHandler)
