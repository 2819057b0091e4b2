"""``driftgate serve``: the local stack's API on localhost."""
from __future__ import annotations

from contextlib import ExitStack

import typer
from rich.console import Console

console = Console()


def serve(
    port: int = typer.Option(8000, min=1, max=65535, help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", help="Address to bind (loopback by default)."),
) -> None:
    """Deploy the stack locally (moto) and serve its API over HTTP until Ctrl-C."""
    from driftgate.local import local_stack
    from driftgate.local.server import make_server

    with ExitStack() as resources:
        with console.status("Synthesizing and deploying the stack into moto..."):
            stack = resources.enter_context(local_stack())
        server = make_server(stack, host, port)
        resources.callback(server.server_close)
        console.print(f"driftgate API on [bold]http://{host}:{server.server_port}/v1/[/] "
                      "(try GET /v1/health, GET /v1/openapi.json); Ctrl-C stops it")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            console.print("stopped")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
