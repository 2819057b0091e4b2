"""The ``driftgate`` command line.

Each command group lives in its own module under ``driftgate/commands`` and registers itself
here; heavy libraries (torch, moto, aws-cdk-lib) are imported inside the commands so that
``driftgate --help`` stays fast.
"""
from __future__ import annotations

import typer

from driftgate.commands import register_all

app = typer.Typer(
    name="driftgate",
    help="Keep fine-tuned LLMs healthy: score outputs, detect drift, retrain LoRA adapters behind a gate.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
register_all(app)

if __name__ == "__main__":  # pragma: no cover
    app()
