"""``driftgate drift``: the drift check of the drift Lambda, offline on two JSON Lines files."""
from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from driftgate.commands import fail


class FieldChoice(StrEnum):
    prompt = "prompt"
    output = "output"


class InputError(Exception):
    """Bad input files: reported in one line, exit code 2."""


def load_records(path: Path, field: str, min_records: int) -> list[dict[str, Any]]:
    """Records of a JSON Lines file, each with a text ``field``; InputError names what is wrong."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    records = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise InputError(f"{path}, line {number}: not valid JSON ({error.msg})") from None
            if not isinstance(record, dict) or not isinstance(record.get(field), str):
                raise InputError(f"{path}, line {number}: the record has no text field '{field}'")
            records.append(record)
    if len(records) < min_records:
        raise InputError(f"{path}: {len(records)} records; the test needs at least {min_records}")
    return records


def sample_records(records: list[dict[str, Any]], size: int | None, rng) -> list[dict[str, Any]]:
    """A uniform random subset of ``size`` records (all of them when there are fewer)."""
    if size is None or len(records) <= size:
        return records
    keep = sorted(rng.choice(len(records), size=size, replace=False))
    return [records[i] for i in keep]


def _print_report(report, console) -> None:
    from rich.table import Table

    verdict = "[bold red]DRIFT[/]" if report.drift else "[bold green]no drift[/]"
    console.print(
        f"{verdict} in {report.field}s: p = {report.p_value:.4g} (alpha {report.alpha}), "
        f"MMD² = {report.statistic:.4g}, centroid cosine distance = {report.centroid_distance:.4f}, "
        f"n = {report.n_baseline} vs {report.n_current}, {report.n_permutations} permutations, "
        f"method {report.method}"
    )
    tests = Table(title="Tests (p adjusted: family-wise, min-P)")
    for column in ("test", "kind", "baseline", "current", "statistic", "p", "p adjusted", "share of the sum"):
        tests.add_column(column, justify="left" if column in ("test", "kind") else "right")
    for t in report.tests:
        summaries = ["" if v is None else f"{v:.4g}" for v in (t.baseline, t.current)]
        share = "" if t.evidence_share is None else f"{t.evidence_share:.1%}"
        tests.add_row(t.name, t.test, *summaries, f"{t.statistic:.4g}", f"{t.p_value:.4g}", f"{t.p_adjusted:.4g}",
                      share, style="bold" if t.moved else None)
    console.print(tests)
    console.print(f"Moved (family-wise): {', '.join(report.members_moved) or 'none alone'}; the decision rests "
                  f"most on: {', '.join(report.members_leading)}", highlight=False)
    clusters = Table(title="Baseline topic clusters, largest change first")
    for column in ("cluster", "baseline", "current", "delta", "examples"):
        clusters.add_column(column, justify="left" if column == "examples" else "right")
    for c in report.clusters:
        examples = "\n".join(f"({c.examples_from}) {text}" for text in c.examples)
        shares = (f"{c.share_baseline:.1%}", f"{c.share_current:.1%}", f"{c.delta:+.1%}")
        clusters.add_row(str(c.cluster), *shares, examples)
    console.print(clusters)
    _print_effects(report, console)


def _print_effects(report, console) -> None:
    """The effect sizes beside the decision, and the decay's split when the records had qualities."""
    if d := report.divergences:
        sizes = ", ".join(f"{r.name} {r.psi:.3f} ({r.size})" for r in d.psi)
        console.print(f"Effect sizes ({d.note}): topic clusters KL(current‖baseline) = {d.cluster_kl:.4f}, "
                      f"JS = {d.cluster_js:.4f} {d.unit}; PSI {sizes}", highlight=False)
    if split := report.decay_decomposition:
        shares = "" if split.mix_share is None else f" ({split.mix_share:.0%} / {split.within_share:.0%})"
        console.print(f"Quality decay ΔM = {split.delta:+.4f} = mix (prompt topics moving, data drift) "
                      f"{split.mix:+.4f} + within (quality within a topic, concept drift) {split.within:+.4f}"
                      f"{shares}; scored records {split.n_baseline} vs {split.n_current}", highlight=False)


def drift(
    baseline: Path = typer.Argument(
        ..., help="Baseline window: JSON Lines interactions (prompt, output, optional scores)."
    ),
    current: Path = typer.Argument(..., help="Current window, same shape."),
    field: FieldChoice = typer.Option(FieldChoice.output, "--field", help="prompt: data drift; output: output drift."),
    sample: int = typer.Option(1000, "--sample", min=1, help="Random records per side at most (bounds the cost)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sampling, permutations and clustering."),
    alpha: float = typer.Option(0.05, "--alpha", min=0.0, max=1.0, help="Family-wise false-alarm rate."),
    # 19 is the fewest with which p <= 0.05 is possible at all.
    permutations: int = typer.Option(500, "--permutations", min=19, help="Permutations of the pooled sample."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON line (last line of stdout)."),
) -> None:
    """Test whether CURRENT drifted from BASELINE: MMD on MiniLM embeddings plus length/quality
    descriptors, one calibrated p-value, and which topic clusters and descriptors moved."""
    import numpy as np
    from rich.console import Console

    from driftgate.paths import embedding_cache, embedding_model
    from functions.drift import (
        MIN_SAMPLES,
        DriftInputError,
        default_embedder,
        detect_drift,
    )
    from functions.drift.decomposition import decompose_records

    err = Console(stderr=True)
    try:
        rng = np.random.default_rng(seed)
        windows = [
            sample_records(load_records(path, field.value, MIN_SAMPLES), sample, rng) for path in (baseline, current)
        ]
        embedder = default_embedder(embedding_cache(), model_dir=embedding_model())
        with err.status(f"Embedding {sum(map(len, windows))} {field.value}s and testing ..."):
            report = detect_drift(
                *windows,
                field=field.value,
                embedder=embedder,
                alpha=alpha,
                n_permutations=permutations,
                seed=seed,
            )
            # Over the prompts' topics whatever the field: the prompt mix moving is what data drift means.
            split = decompose_records(*windows, embedder, seed=seed)
        report = report.model_copy(update={"decay_decomposition": split})
    except (InputError, DriftInputError) as error:
        raise fail(error) from None
    if as_json:
        print(report.model_dump_json())
    else:
        _print_report(report, Console())


def register(app: typer.Typer) -> None:
    app.command("drift")(drift)
