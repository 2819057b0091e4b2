"""``driftgate score``: the ingest Lambda's scorer pack, offline on a JSON Lines file.

Every line is checked before anything is scored, and results are written only once all are
computed (``--output`` atomically), so a bad line stops the command with its line number and
field and leaves nothing half-written.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

USAGE_ERROR = 2
# Enough bad lines to fix several at once, few enough to read.
MAX_REPORTED_ERRORS = 10
NO_OUTPUT = "no output"  # why a record was not scored (GSM8K's file has references only)

_JSON_TYPES = {str: "a string", int: "a number", float: "a number", bool: "a boolean", list: "an array",
               dict: "an object", type(None): "null"}


class InputError(Exception):
    """Bad input: one message per problem (``args``), each printed as an error line; exit code 2."""


@dataclass(frozen=True)
class Interaction:
    line: int
    id: str | int
    prompt: str
    output: str | None
    reference: str | None
    expected_format: str | None


def _kind(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _field(record: dict, name: str, *, required: bool, nullable: bool, integer_ok: bool = False) -> Any:
    """``record[name]`` checked: ValueError names the field and what is wrong with it."""
    if name not in record:
        if required:
            raise ValueError(f"missing field '{name}'")
        return None
    value = record[name]
    if isinstance(value, str) or (value is None and nullable):
        return value
    if integer_ok and isinstance(value, int) and not isinstance(value, bool):
        return value
    wanted = "a string" + (" or an integer" if integer_ok else "") + (" or null" if nullable else "")
    raise ValueError(f"field '{name}' must be {wanted}, not {_kind(value)}")


def _interaction(number: int, raw: bytes, reference_field: str, reference_required: bool) -> Interaction:
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("not valid UTF-8") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(record, dict):
        raise ValueError(f"not a JSON object but {_kind(record)}")
    return Interaction(
        line=number,
        id=_field(record, "id", required=True, nullable=False, integer_ok=True),
        prompt=_field(record, "prompt", required=True, nullable=False),
        output=_field(record, "output", required=True, nullable=True),
        reference=_field(record, reference_field, required=reference_required, nullable=True),
        expected_format=_field(record, "expected_format", required=False, nullable=True),
    )


def read_interactions(path: Path, reference_field: str = "reference",
                      reference_required: bool = False) -> list[Interaction]:
    """Every interaction of a JSON Lines file (blank lines skipped), or InputError listing the
    bad lines, each with its number and field."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    interactions, errors = [], []
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                interactions.append(_interaction(number, raw, reference_field, reference_required))
            except ValueError as error:
                errors.append(f"{path}, line {number}: {error}")
    if errors:
        shown = errors[:MAX_REPORTED_ERRORS]
        if len(errors) > len(shown):
            shown.append(f"{path}: {len(errors) - len(shown)} more bad lines")
        raise InputError(*shown)
    if not interactions:
        raise InputError(f"{path}: no interactions")
    return interactions


def score_interaction(item: Interaction) -> dict[str, Any]:
    """One result line: the pack's report (exact_match/token_f1/rouge_l null without a reference)
    plus the answers exact match compared (reference_answer null: a free-form reference)."""
    from functions.scoring import score
    from functions.scoring.answers import extract_final_answer, reference_answer

    ref_answer = None if item.reference is None else reference_answer(item.reference)
    if item.output is None:
        return {"line": item.line, "id": item.id, "quality": None, "exact_match": None, "token_f1": None,
                "rouge_l": None, "flags": [], "scores": [], "answer": None, "reference_answer": ref_answer,
                "skipped": NO_OUTPUT}
    report = score(item.prompt, item.output, item.reference, item.expected_format)
    return {
        "line": item.line,
        "id": item.id,
        **report.to_dict(),
        "answer": None if item.reference is None else extract_final_answer(item.output),
        "reference_answer": ref_answer,
        "skipped": None,
    }


def _score_all(interactions: list[Interaction], err) -> list[dict[str, Any]]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    # On stderr, so stdout stays the results; rich draws it only on a terminal.
    columns = (TextColumn("Scoring"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("score", total=len(interactions))
        results = []
        for item in interactions:
            results.append(score_interaction(item))
            progress.advance(task)
    return results


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize(interactions: list[Interaction], results: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts; mean quality and flag rates over the scored records; the reference metrics over
    the scored records with a reference."""
    from functions.scoring.pack import FLAGS

    scored = [r for r in results if r["skipped"] is None]
    referenced = [r for r in scored if r["exact_match"] is not None]
    return {
        "records": len(results),
        "scored": len(scored),
        "without_output": len(results) - len(scored),
        "with_reference": sum(i.reference is not None for i in interactions),
        "reference_states_answer": sum(r["reference_answer"] is not None for r in results),
        "scored_with_reference": len(referenced),
        "mean_quality": _mean([r["quality"] for r in scored]),
        "exact_match_rate": _mean([r["exact_match"] for r in referenced]),
        "mean_token_f1": _mean([r["token_f1"] for r in referenced]),
        "mean_rouge_l": _mean([r["rouge_l"] for r in referenced]),
        "flag_counts": {flag: sum(flag in r["flags"] for r in scored) for flag in FLAGS},
    }


def _print_summary(path: Path, summary: dict[str, Any], console) -> None:
    from rich.table import Table
    from rich.text import Text

    def number(value: float | None, percent: bool = False) -> str:
        if value is None:
            return "-"
        return f"{value:.1%}" if percent else f"{value:.3f}"

    console.print(Text(str(path), style="bold"))
    table = Table(title="Scores", show_header=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("records", str(summary["records"])),
        ("with a reference", str(summary["with_reference"])),
        ("  reference states an answer", str(summary["reference_states_answer"])),
        ("without output (not scored)", str(summary["without_output"])),
        ("scored", str(summary["scored"])),
        ("mean quality", number(summary["mean_quality"])),
        ("scored with a reference", str(summary["scored_with_reference"])),
        ("  exact-match rate", number(summary["exact_match_rate"], percent=True)),
        ("  mean token F1", number(summary["mean_token_f1"])),
        ("  mean ROUGE-L", number(summary["mean_rouge_l"])),
    ]
    for row in rows:
        table.add_row(*row)
    console.print(table)

    flags = Table(title="Flags (share of scored records)")
    for column in ("flag", "count", "rate"):
        flags.add_column(column, justify="left" if column == "flag" else "right")
    for flag, count in summary["flag_counts"].items():
        rate = count / summary["scored"] if summary["scored"] else None
        flags.add_row(flag, str(count), number(rate, percent=True))
    console.print(flags)


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file beside it: readers see the old file or
    the whole new one, never a part."""
    handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".tmp", delete=False)
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def score(
    file: Path = typer.Argument(..., help="JSON Lines interactions: id, prompt, output, optional reference."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per record instead of the summary."),
    reference_field: str | None = typer.Option(
        None, "--reference-field", metavar="NAME",
        help="Take the reference from field NAME (then every line must have it; null means none). "
             "Default: 'reference', optional."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Also write the per-record JSON lines to this file (atomically)."),
) -> None:
    """Score every interaction of FILE with the scorer pack of the ingest Lambda: quality, exact
    match, token F1, ROUGE-L, flags. Other fields are ignored; a null output is reported, not scored."""
    from rich.console import Console
    from rich.text import Text

    err = Console(stderr=True)
    try:
        if output is not None and not output.parent.is_dir():
            raise InputError(f"--output {output}: no such folder {output.parent}")
        if output is not None and output.resolve() == file.resolve():
            raise InputError(f"--output {output} is the input file")
        interactions = read_interactions(file, reference_field or "reference",
                                         reference_required=reference_field is not None)
    except InputError as error:
        for message in error.args:
            err.print(Text.assemble(("error: ", "red"), message), soft_wrap=True)
        raise typer.Exit(USAGE_ERROR) from None
    results = _score_all(interactions, err)
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results)
    if output is not None:
        _write_atomically(output, lines)
    if as_json:
        typer.echo(lines, nl=False)
    else:
        _print_summary(file, summarize(interactions, results), Console())


def register(app: typer.Typer) -> None:
    app.command("score")(score)
