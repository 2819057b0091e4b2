"""``driftgate explain REQUEST_ID [--json]``: the right to explanation of one interaction, through
the API of a running stack (``driftgate serve``): how its quality was computed, which drift
samples it is in, and which training sets and adapter versions used it."""
from __future__ import annotations

import json
from urllib.parse import quote

import typer
from rich.table import Table

from driftgate.api_client import URL, call, console


def explain(request_id: str = typer.Argument(..., help="The interaction's request_id."),
            as_json: bool = typer.Option(False, "--json", help="Print the API's answer as JSON."),
            url: str = URL) -> None:
    """Explain how one interaction was scored, sampled and trained on."""
    body = call(url, "GET", f"/v1/interactions/{quote(request_id, safe='')}/explanation")
    if as_json:
        print(json.dumps(body, indent=2))
        return
    console.print(body["summary"], markup=False, highlight=False)
    breakdown = body["quality"].get("breakdown")
    if breakdown:
        table = Table(title=f"quality {body['quality']['quality']:.3f} ({breakdown['formula']})",
                      title_justify="left")
        for column in ("term or flag", "weight or factor", "value", "applied"):
            table.add_column(column)
        for term in breakdown["terms"]:
            table.add_row(term["name"], f"{term['weight']:g}", f"{term['value']:.4f}", "")
        for penalty in breakdown["penalties"]:
            table.add_row(f"flag {penalty['flag']}", f"x {penalty['factor']:g}", "",
                          "yes" if penalty["applied"] else f"no: {penalty['reason']}")
        console.print(table)


def register(app: typer.Typer) -> None:
    app.command("explain")(explain)
