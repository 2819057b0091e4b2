"""``driftgate demo``: the whole maintenance loop on the local stack, narrated."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from driftgate.demo import MODEL, DemoResult, Narrator, run_demo


class RichNarrator(Narrator):
    def __init__(self, console: Console) -> None:
        self.console = console
        self.count = 0

    def step(self, text: str) -> None:
        self.count += 1
        self.console.print(f"\n[bold cyan]{self.count}.[/] [bold]{text}[/]")

    def detail(self, text: str) -> None:
        self.console.print(f"   {text}")

    def progress(self, label: str, total: int) -> Callable[[int], None]:
        progress = Progress(TextColumn(f"   {label}"), BarColumn(), MofNCompleteColumn(), console=self.console,
                            transient=True)
        task = progress.add_task(label, total=total)
        progress.start()

        def advance(n: int) -> None:
            progress.advance(task, n)
            if progress.finished:
                progress.stop()

        return advance

    def state(self, name: str, seconds: float) -> None:
        self.console.print(f"   [green]→[/] {name:<20} [dim]+{seconds:5.1f}s[/]")

    def finish(self, stack: Any, result: DemoResult) -> None:
        adapters = stack.api("GET", f"/v1/models/{MODEL}/adapters")
        if adapters.status == 200:
            body = adapters.json()
            table = Table(title="Adapter registry", title_justify="left")
            for column in ("version", "gate", "eval-loss gain (95% CI)", "sha256", "created"):
                table.add_column(column)
            for v in body["versions"]:
                gate = v.get("gate") or {}
                gain = (f"{gate.get('mean_improvement', 0):.3f} "
                        f"[{gate.get('ci_low', 0):.3f}, {gate.get('ci_high', 0):.3f}]")
                table.add_row(str(v["version"]), str(gate.get("decision")), gain, v["sha256"][:12], v["created_at"])
            self.console.print(table)
            history = Table(title="production alias history", title_justify="left")
            for column in ("revision", "from", "to", "reason", "by", "at"):
                history.add_column(column)
            for h in body["history"]:
                history.add_row(str(h["revision"]), str(h["from_version"]), str(h["to_version"]), h["reason"],
                                h["actor"], h["at"])
            self.console.print(history)
        if result.gate:
            guards = ", ".join(f"{g['name']} {'ok' if g['passed'] else 'REGRESSED'}" for g in result.gate["guards"])
            self.console.print(f"Gate: [bold]{result.gate['decision']}[/] on {result.gate['n_pairs']} paired examples: "
                               f"champion eval loss {result.gate['champion_mean']:.3f} → challenger "
                               f"{result.gate['challenger_mean']:.3f}; guards: {guards}")
        if canary := result.canary:
            ci = "—" if canary["ci"] is None else f"[{canary['ci'][0]:+.3f}, {canary['ci'][1]:+.3f}]"
            self.console.print(f"Canary: [bold]{canary['decision']}[/] after {canary['looks']} looks: production "
                               f"(v{canary['control_version']}) n={canary['n_control']}, staging "
                               f"(v{canary['version']}) n={canary['n_treatment']}; quality effect CI {ci}, "
                               f"always-valid p = {canary['p_value']:.3g}")
        colour = "green" if result.execution_status == "SUCCEEDED" else "red"
        self.console.print(f"\nExecution: [bold {colour}]{result.execution_status}[/]; production → version "
                           f"[bold]{result.production_version}[/]; {result.elapsed_seconds:.0f}s in all")
        if result.report_path:
            self.console.print(f"Report: [bold]{result.report_path}[/]")


def demo(
    as_json: bool = typer.Option(False, "--json", help="End with one JSON line summarising the run."),
    out: Path = typer.Option(None, "--out", help="Where the report goes (default .driftgate/demo)."),
) -> None:
    """Run the whole loop locally on real data: ingest, drift, retrain, gate, promote, report."""
    console = Console(stderr=as_json)
    result = run_demo(RichNarrator(console), out)
    if as_json:
        print(json.dumps(result.summary(), default=str))
    if result.execution_status != "SUCCEEDED":
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
