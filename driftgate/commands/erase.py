"""``driftgate erase --user-id X``: the right to erasure of one end user, through the API of a
running stack (``driftgate serve``), as an operator answering the user's request would call it."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import typer
from rich.console import Console

console = Console(soft_wrap=True)


def post_json(url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(url.rstrip("/") + path, method="POST", data=json.dumps(body).encode(),
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


def erase(user_id: str = typer.Option(..., "--user-id", help="The end user's id, as sent in metadata.user_id."),
          url: str = typer.Option("http://127.0.0.1:8000", "--url", help="Base URL of `driftgate serve`.")) -> None:
    """Erase one end user's interactions from raw storage, samples and future training sets."""
    receipt = post_json(url, "/v1/erasures", {"user_id": user_id})
    r = receipt
    console.print(f"erased user {r['user_id']!r} at {r['erased_at']}: "
                  f"{r['interactions_erased']} interactions ({r['feedback_erased']} with feedback), "
                  f"{r['raw_lines_removed']} raw lines ({r['raw_objects_rewritten']} objects rewritten, "
                  f"{r['raw_objects_deleted']} deleted), {r['reservoir_samples_removed']} reservoir samples, "
                  f"{r['drift_examples_removed']} drift-report examples, {r['golden_rows_removed']} golden-set rows "
                  f"({r['old_versions_deleted']} old versions deleted)")


def register(app: typer.Typer) -> None:
    app.command("erase")(erase)
