"""``driftgate canary simulate``: two recorded files replayed as one live canary, decided by the
sequential test the CheckCanary Lambda runs (``functions.canary``).

Each instruction index both files hold (the number after ``:`` in ``id``) is a unit; the hash
assigns it to an arm, its record comes from that arm's file, is scored as ingest scores it (the
scorer pack, with the record's reference unless ``--no-reference``), and the test is looked at
after every interaction, in a seeded random order. Input is checked like ``driftgate score``: a
bad line is an error naming its file, line and field (exit code 2) and nothing is replayed.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import typer

from driftgate.commands.score import MAX_REPORTED_ERRORS, USAGE_ERROR, InputError, Interaction, read_interactions

canary_app = typer.Typer(help="Canary: a live A/B test of a staging adapter, decided by an always-valid "
                              "sequential test.", no_args_is_help=True)
_ID = re.compile(r"^[^:]*:(\d+)$")


def by_index(path: Path) -> dict[int, Interaction]:
    """The file's records by instruction index, or InputError naming each bad line and field."""
    records: dict[int, Interaction] = {}
    first_line: dict[int, int] = {}
    errors = []
    for item in read_interactions(path):
        match = _ID.match(item.id) if isinstance(item.id, str) else None
        if match is None:
            errors.append(f"{path}, line {item.line}: field 'id' must be '<generator>:<index>' "
                          f"(an instruction index after ':'), not {item.id!r}")
        elif item.output is None:
            errors.append(f"{path}, line {item.line}: field 'output' is null: no answer to serve")
        elif (index := int(match.group(1))) in records:
            errors.append(f"{path}, line {item.line}: field 'id': instruction index {index} again "
                          f"(first on line {first_line[index]})")
        else:
            records[index], first_line[index] = item, item.line
    if errors:
        shown = errors[:MAX_REPORTED_ERRORS]
        if len(errors) > len(shown):
            shown.append(f"{path}: {len(errors) - len(shown)} more bad lines")
        raise InputError(*shown)
    return records


def observe(item: Interaction, with_reference: bool):
    """The interaction as the canary sees it, scored exactly as ingest scores a record."""
    from functions.canary import Observation
    from functions.scoring import score

    report = score(item.prompt, item.output or "", item.reference if with_reference else None, item.expected_format)
    return Observation(quality=report.quality, flags=tuple(report.flags))


def run(control: Path, treatment: Path, *, share: float, seed: int, with_reference: bool) -> dict[str, Any]:
    """The replay's summary (the ``--json`` object)."""
    from functions.canary import CanaryConfig
    from functions.canary.assignment import TREATMENT
    from functions.canary.replay import replay, simulation_canary_id, stream

    if not 0.0 < share < 1.0:
        raise InputError(f"--share must be between 0 and 1 (both arms need traffic), got {share}")
    files = {"control": by_index(control), "treatment": by_index(treatment)}
    units = sorted(set(files["control"]) & set(files["treatment"]))
    if not units:
        raise InputError(f"{control} and {treatment} share no instruction index")
    canary_id = simulation_canary_id(seed)
    served, self_referenced = [], 0
    for unit, arm in stream(units, share=share, seed=seed, canary_id=canary_id):
        item = files[arm][unit]
        self_referenced += with_reference and item.reference is not None and item.reference == item.output
        served.append((arm, observe(item, with_reference)))
    result = replay(served, canary_id, CanaryConfig())
    d = result.decision
    return {
        "decision": d.decision, "n_control": d.n_control, "n_treatment": d.n_treatment, "looks": d.looks,
        "p_value": d.p_value, "ci": None if d.ci is None else list(d.ci), "mean_control": d.mean_control,
        "mean_treatment": d.mean_treatment, "stopped_at": result.stopped_at, "effect": d.effect, "reason": d.reason,
        "interactions": result.interactions, "share": share, "seed": seed, "canary_id": canary_id,
        "with_reference": with_reference,
        # Served records scored against themselves (AlpacaEval's references are gpt4_1106_preview's answers).
        "self_referenced": int(self_referenced),
        "treatment_served": sum(arm == TREATMENT for arm, _ in served),
        "guards": [g.model_dump(mode="json") for g in d.guards], "alpha": d.alpha, "min_effect": d.min_effect,
    }


def _print_summary(control: Path, treatment: Path, summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    def number(value: float | None) -> str:
        return "-" if value is None else f"{value:.4f}"

    console = Console()
    table = Table(title=f"canary {summary['canary_id']}: share {summary['share']}, "
                        f"stopped after {summary['stopped_at']} of {summary['interactions']} interactions",
                  title_justify="left")
    for column in ("arm", "file", "n", "mean quality"):
        table.add_column(column, justify="right" if column in ("n", "mean quality") else "left")
    table.add_row("production (control)", control.name, str(summary["n_control"]), number(summary["mean_control"]))
    table.add_row("staging (treatment)", treatment.name, str(summary["n_treatment"]), number(summary["mean_treatment"]))
    console.print(table)
    ci = summary["ci"]
    interval = "-" if ci is None else f"[{ci[0]:+.4f}, {ci[1]:+.4f}]"
    effect = "-" if summary["effect"] is None else f"{summary['effect']:+.4f}"
    console.print(f"[bold]{summary['decision']}[/bold] after {summary['looks']} looks: effect {effect}, "
                  f"always-valid p = "
                  f"{summary['p_value']:.4g}, {1 - summary['alpha']:.0%} confidence sequence {interval}")
    console.print(summary["reason"], soft_wrap=True)
    if summary["self_referenced"]:
        console.print(f"[yellow]note:[/yellow] {summary['self_referenced']} served records were scored against "
                      "themselves (their reference is their output); --no-reference scores without references")


@canary_app.command("simulate")
def simulate(
    control: Path = typer.Option(..., "--control", help="JSON Lines of production's answers (id '<model>:<index>')."),
    treatment: Path = typer.Option(..., "--treatment", help="JSON Lines of staging's answers to the same indices."),
    share: float = typer.Option(0.5, "--share", help="Share of units the hash sends to staging, in (0, 1)."),
    seed: int = typer.Option(0, "--seed", help="Seeds the stream order and the canary id the hash uses."),
    as_json: bool = typer.Option(False, "--json", help="End with one JSON object: decision, counts, p-value, CI."),
    no_reference: bool = typer.Option(
        False, "--no-reference", help="Score without the records' references, as live traffic without one is "
                                      "scored (AlpacaEval's references are gpt4_1106_preview's answers)."),
) -> None:
    """Replay two files as one live canary and report the sequential test's decision."""
    from rich.console import Console
    from rich.text import Text

    try:
        summary = run(control, treatment, share=share, seed=seed, with_reference=not no_reference)
    except InputError as error:
        err = Console(stderr=True)
        for message in error.args:
            err.print(Text.assemble(("error: ", "red"), message), soft_wrap=True)
        raise typer.Exit(USAGE_ERROR) from None
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        _print_summary(control, treatment, summary)


def register(app: typer.Typer) -> None:
    app.add_typer(canary_app, name="canary")
