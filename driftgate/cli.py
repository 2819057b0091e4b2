"""The ``driftgate`` command line.

Each command group lives in its own module under ``driftgate/commands`` and registers itself
here; heavy libraries (torch, moto, aws-cdk-lib) are imported inside the commands so that
``driftgate --help`` stays fast.
"""
from __future__ import annotations

import typer

from driftgate.commands import register_all
from driftgate.heap import keep_freed_memory

app = typer.Typer(
    name="driftgate",
    help="Keep fine-tuned LLMs healthy: score outputs, detect drift, retrain LoRA adapters behind a gate.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
register_all(app)


@app.callback()
def _start() -> None:
    """Keep fine-tuned LLMs healthy: score outputs, detect drift, retrain LoRA adapters behind a gate."""
    keep_freed_memory()  # the demo and `driftgate finetune` train on the CPU in this process

if __name__ == "__main__":  # pragma: no cover
    app()
