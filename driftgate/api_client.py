"""Calls to the API of a running stack (``driftgate serve``) for the operator commands, with the
API's error message (exit 1) or an unreachable URL (exit 2) reported in one line."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import typer
from rich.console import Console

console = Console(soft_wrap=True)
URL = typer.Option("http://127.0.0.1:8000", "--url", help="Base URL of `driftgate serve`.")


def call(url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body if body is not None else {}).encode() if method == "POST" else None
    request = urllib.request.Request(url.rstrip("/") + path, method=method, data=data,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        message = json.loads(error.read() or b"{}").get("message", error.reason)
        console.print(f"[red]error:[/] {error.code} {message}")
        raise typer.Exit(code=1) from None
    except urllib.error.URLError as error:
        console.print(f"[red]error:[/] --url {url}: {error.reason} (is `driftgate serve` running?)")
        raise typer.Exit(code=2) from None
