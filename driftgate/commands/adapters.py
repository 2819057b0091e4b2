"""``driftgate adapters list|promote|rollback``: the adapter registry of a running local stack
(``driftgate serve``), through the same API apps use."""
from __future__ import annotations

import typer
from rich.table import Table

from driftgate.api_client import URL, call, console

adapters_app = typer.Typer(help="List, promote and roll back adapters (against `driftgate serve`).",
                           no_args_is_help=True)


@adapters_app.command("list")
def list_adapters(model: str = typer.Argument(..., help="Model name."), url: str = URL) -> None:
    """Every version, its gate decision and numbers, and the production alias history."""
    body = call(url, "GET", f"/v1/models/{model}/adapters")
    production = (body.get("production") or {}).get("version")
    table = Table(title=f"{model}: adapters (production = {production})", title_justify="left")
    for column in ("version", "gate", "eval-loss gain [95% CI]", "approval", "sha256", "created"):
        table.add_column(column)
    for v in body["versions"]:
        gate = v.get("gate") or {}
        marker = " ◀ production" if v["version"] == production else ""
        gain = f"{gate.get('mean_improvement', 0):.3f} [{gate.get('ci_low', 0):.3f}, {gate.get('ci_high', 0):.3f}]"
        table.add_row(f"{v['version']}{marker}", str(gate.get("decision")), gain,
                      str(v.get("approval")), v["sha256"][:12], v["created_at"])
    console.print(table)
    for h in body["history"]:
        console.print(f"  rev {h['revision']}: {h['from_version']} → {h['to_version']} "
                      f"({h['reason']} by {h['actor']}, {h['at']})")


@adapters_app.command("promote")
def promote(model: str = typer.Argument(...), version: int = typer.Argument(..., min=1), url: str = URL) -> None:
    """Point production at VERSION (refused if the gate rejected it)."""
    alias = call(url, "POST", f"/v1/models/{model}/adapters/{version}/promote")
    console.print(f"{model}: production → version {alias['version']} (revision {alias['revision']})")


@adapters_app.command("rollback")
def rollback(model: str = typer.Argument(...), url: str = URL) -> None:
    """Move production back to the version that served before."""
    alias = call(url, "POST", f"/v1/models/{model}/rollback")
    console.print(f"{model}: production → version {alias['version']} (revision {alias['revision']})")


def register(app: typer.Typer) -> None:
    app.add_typer(adapters_app, name="adapters")
