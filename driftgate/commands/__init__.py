"""CLI command modules. Each exposes ``register(app: typer.Typer) -> None``."""
from __future__ import annotations

import importlib
import pkgutil

import typer

USAGE_ERROR = 2  # bad options or input; 1 is left for failures of the stack or the machine


def fail(error: BaseException | str, code: int = USAGE_ERROR) -> typer.Exit:
    """Print one ``error:`` line to stderr (markup escaped: messages quote user input) and return
    the Exit to raise: ``raise fail(error) from None``."""
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True).print(f"[red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def register_all(app: typer.Typer) -> None:
    """Register every command module in this package, in name order."""
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        module.register(app)
