"""``driftgate local ...``: the stack on this machine, in moto."""
from __future__ import annotations

import time
from contextlib import ExitStack

import typer
from rich.console import Console

console = Console()
local_app = typer.Typer(help="Run the stack locally (moto, no AWS account).", no_args_is_help=True)


@local_app.command("selfcheck")
def selfcheck(model: str = typer.Option("selfcheck", help="Model name to run the pipeline for.")) -> None:
    """Deploy the stack locally, call the API, run the retrain state machine and print each state."""
    from driftgate.local import local_stack

    started = time.monotonic()
    with ExitStack() as resources:
        with console.status("Synthesizing the CDK app and deploying it into moto..."):
            stack = resources.enter_context(local_stack())
        counts = {t.split("::")[-1]: len(stack.resources_of_type(t)) for t in (
            "AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::Lambda::Function", "AWS::StepFunctions::StateMachine",
            "AWS::SNS::Topic", "AWS::Events::Rule")}
        console.print("[bold]Deployed locally:[/] " + ", ".join(f"{n} {kind}" for kind, n in counts.items()))
        health = stack.api("GET", "/v1/health")
        console.print(f"GET /v1/health -> {health.status} {health.body}")
        checks = stack.fire_schedule()
        console.print(f"Scheduled drift check -> {checks}")
        console.print(f"Starting the retrain state machine for model [bold]{model}[/]:")
        result = stack.run({"model": model, "reason": "selfcheck"},
                           on_state=lambda state: console.print(f"  -> {state}"))
        colour = "green" if result.status == "SUCCEEDED" else "red"
        console.print(f"Execution {result.arn.rsplit(':', 1)[-1]}: [bold {colour}]{result.status}[/]"
                      + (f" ({result.error}: {result.cause})" if result.error else ""))
        console.print(f"Self-check finished in {time.monotonic() - started:.1f}s")
    if result.status != "SUCCEEDED" or health.status != 200:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.add_typer(local_app, name="local")
