"""``driftgate finetune`` and ``driftgate evaluate``: the retraining loop on this machine.

``finetune`` builds a training set from interaction records (``functions.dataset``, as
PrepareDataset does), then trains a LoRA adapter (``finetune.train``) on a base model: a hub id, a
directory, or by default the tiny local base (``finetune.base_model``, built once and cached under
the state directory). ``evaluate`` scores a base
with or without an adapter (``finetune.evaluate``). torch/transformers load inside the commands
so ``driftgate --help`` stays fast.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

USAGE_ERROR = 2
# Flags of finetune/train.py and finetune/evaluate.py, as this CLI spells them.
_CLI_FLAGS = {
    "--train": "--data", "data": "--data", "prompt": "--data", "output": "--data", "id": "--data",
    "response": "--data", "--eval": "--data",
    "--model_name_or_path": "--base-model", "model_name_or_path": "--base-model",
    "--lora_r": "--lora-r", "--lora_alpha": "--lora-alpha", "--lora_dropout": "--lora-dropout",
    "--max_length": "--max-length", "config": "--config", "--adapter": "--adapter", "adapter": "--adapter",
    "--golden": "--golden", "min_records": "--min-records", "eval_fraction": "--eval-fraction",
}


def _fail(error: Exception) -> typer.BadParameter:
    """A finetune or dataset input error as a usage error naming this CLI's flag (exit 2, no traceback)."""
    flag = _CLI_FLAGS.get(getattr(error, "field", None) or "")
    return typer.BadParameter(str(error), param_hint=f"'{flag}'" if flag else None)


def _progress():
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())


def _trainer_progress(progress: Any):
    """A TrainerCallback drawing the training steps as a rich progress bar."""
    from transformers import TrainerCallback

    class RichProgress(TrainerCallback):
        task = None

        def on_train_begin(self, args, state, control, **kwargs):
            self.task = progress.add_task("training", total=state.max_steps, completed=state.global_step)

        def on_step_end(self, args, state, control, **kwargs):
            progress.update(self.task, completed=state.global_step)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs and self.task is not None:
                progress.update(self.task, description=f"training (loss {logs['loss']:.3f})")

    return RichProgress()


def _quiet_libraries() -> None:
    """The rich bars report progress; library bars, info logs and deprecation notices would
    interleave with them."""
    import logging
    import warnings

    import datasets
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    datasets.disable_progress_bars()
    warnings.filterwarnings("ignore", category=FutureWarning)
    logging.getLogger("finetune").setLevel(logging.WARNING)


def finetune(
    data: list[Path] = typer.Option(..., "--data", help="Interaction records, JSON Lines (repeat for several files)."),
    output_dir: Path = typer.Option(..., "--output-dir", help="Gets data/ (train/eval split + manifest) and adapter/."),
    base_model: str | None = typer.Option(
        None, "--base-model", help="Hub id or directory. Default: the tiny local base, built once and cached."
    ),
    epochs: float | None = typer.Option(None, "--epochs", min=0.0, help="Epochs (default 1)."),
    max_steps: int | None = typer.Option(None, "--max-steps", min=1, help="Stop after N steps (overrides --epochs)."),
    learning_rate: float | None = typer.Option(None, "--learning-rate", min=0.0, help="Default 2e-4."),
    batch_size: int | None = typer.Option(None, "--batch-size", min=1, help="Per-device batch size (default 8)."),
    max_length: int | None = typer.Option(None, "--max-length", min=16, help="Tokens per example (default 512)."),
    lora_r: int | None = typer.Option(None, "--lora-r", min=1, help="LoRA rank (default 16)."),
    lora_alpha: int | None = typer.Option(None, "--lora-alpha", min=1, help="LoRA alpha (default 32)."),
    lora_dropout: float | None = typer.Option(None, "--lora-dropout", min=0.0, max=1.0, help="Default 0.05."),
    min_quality: float = typer.Option(0.5, "--min-quality", min=0.0, max=1.0, help="Drop records scored below this."),
    eval_fraction: float = typer.Option(0.1, "--eval-fraction", min=0.0, max=1.0,
                                        help="Share of records held out (by id hash)."),
    min_records: int = typer.Option(16, "--min-records", min=2, help="Fail when fewer records survive filtering."),
    seed: int = typer.Option(42, "--seed", help="Training seed."),
    base_steps: int = typer.Option(200, "--base-steps", min=0,
                                   help="Pretraining steps of the tiny base (no --base-model)."),
    config: Path | None = typer.Option(None, "--config", exists=True, dir_okay=False,
                                       help="Training flags file (YAML/JSON)."),
    as_json: bool = typer.Option(False, "--json", help="Print the adapter manifest as one JSON line."),
) -> None:
    """Build a training set from DATA and train a LoRA adapter on it."""
    from rich.console import Console

    from finetune.errors import FinetuneInputError
    from functions.dataset import DataConfig, DataError, build_training_set

    console = Console(stderr=True)
    for flag, value in (("--epochs", epochs), ("--learning-rate", learning_rate)):
        if value is not None and value <= 0:
            raise typer.BadParameter(f"must be > 0, got {value}", param_hint=f"'{flag}'")
    for path in data:
        if not path.exists():
            raise typer.BadParameter(f"{path}: not found", param_hint="'--data'")
    try:
        data_config = DataConfig(min_quality=min_quality, eval_fraction=eval_fraction, min_records=min_records)
        with console.status("Building the training set (select, scrub PII, dedupe, split)..."):
            dataset = build_training_set(data, output_dir / "data", data_config)
    except DataError as error:
        raise _fail(error) from None
    counts = dataset["counts"]
    console.print(f"Data: {counts['input']} records -> {counts['train']} train / {counts['eval']} eval "
                  f"({counts['exact_duplicates']} exact + {counts['near_duplicates']} near duplicates, "
                  f"{counts.get('pii_scrubbed', 0)} scrubbed of PII) in {output_dir / 'data'}")

    _quiet_libraries()
    from finetune import train

    with _progress() as progress:
        if base_model is None:
            from driftgate.paths import data_dir, tiny_base_cache
            from finetune.base_model import baseline_records, build_tiny_base

            task = progress.add_task("tiny base (cached after the first build)", total=base_steps or 1)
            base_model = str(build_tiny_base(
                tiny_base_cache(), baseline_records(data_dir()), steps=base_steps,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            ))
            progress.update(task, completed=base_steps or 1)
        options = {
            "--num_train_epochs": epochs, "--max_steps": max_steps, "--learning_rate": learning_rate,
            "--per_device_train_batch_size": batch_size, "--max_length": max_length, "--lora_r": lora_r,
            "--lora_alpha": lora_alpha, "--lora_dropout": lora_dropout, "--config": config,
        }
        argv = [
            "--model_name_or_path", base_model,
            "--train", str(output_dir / "data" / "train.jsonl"),
            "--eval", str(output_dir / "data" / "eval.jsonl"),
            "--output_dir", str(output_dir / "adapter"),
            "--seed", str(seed),
            "--disable_tqdm", "true",
            *[item for flag, value in options.items() if value is not None for item in (flag, str(value))],
        ]
        try:
            script_args, model_args, training_args = train.parse_args(argv, environ={})
            result = train.main(script_args, model_args, training_args, callbacks=[_trainer_progress(progress)],
                                environ={})
        except FinetuneInputError as error:
            raise _fail(error) from None

    manifest = result.manifest
    if as_json:
        print(json.dumps(manifest))
        return
    loss = manifest["loss"]
    console.print(
        f"[bold green]Adapter saved[/] to {result.output_dir} ({manifest['parameters']['trainable']:,} trainable "
        f"parameters, {manifest['global_step']} steps, {manifest['train_runtime_s']}s)\n"
        f"eval loss {loss['eval_before']:.4f} -> {loss['eval_after']:.4f}, "
        f"train loss {loss['train_before']:.4f} -> {loss['train_after']:.4f}",
        highlight=False,
    )


def evaluate(
    adapter: Path | None = typer.Option(None, "--adapter", exists=True,
                                        help="LoRA adapter directory (omit: the base alone)."),
    data: Path | None = typer.Option(None, "--data", exists=True, help="Eval set, JSON Lines."),
    golden: Path | None = typer.Option(None, "--golden", exists=True, help="Golden set, JSON Lines."),
    base_model: str | None = typer.Option(None, "--base-model", help="Base model; default: the one the adapter names."),
    output_dir: Path | None = typer.Option(None, "--output-dir", help="Default: <adapter>/eval, or ./eval-base."),
    max_new_tokens: int = typer.Option(32, "--max-new-tokens", min=0, help="Greedy generation length (0: loss only)."),
    max_length: int = typer.Option(512, "--max-length", min=16, help="Tokens per example for the loss."),
    max_examples: int | None = typer.Option(None, "--max-examples", min=1, help="First N rows of each set."),
    batch_size: int = typer.Option(8, "--batch-size", min=1),
    as_json: bool = typer.Option(False, "--json", help="Print metrics.json as one JSON line."),
) -> None:
    """Score a base model, with or without an adapter, on an eval and/or golden set.

    Per example: loss, and a greedy output scored by the API's scorer pack. Writes metrics.json
    and examples.jsonl.
    """
    from rich.console import Console
    from rich.table import Table

    from finetune.errors import FinetuneInputError

    if data is None and golden is None:
        raise typer.BadParameter("give --data and/or --golden", param_hint="'--data'")
    if adapter is None and base_model is None:
        raise typer.BadParameter("give --adapter, --base-model or both", param_hint="'--adapter'")
    if output_dir is None:
        output_dir = adapter / "eval" if adapter is not None else Path("eval-base")
    _quiet_libraries()
    from finetune import evaluate as evaluation

    argv = ["--output_dir", str(output_dir), "--max_new_tokens", str(max_new_tokens), "--max_length", str(max_length),
            "--batch_size", str(batch_size)]
    for flag, value in (("--adapter", adapter), ("--eval", data), ("--golden", golden),
                        ("--model_name_or_path", base_model), ("--max_examples", max_examples)):
        if value is not None:
            argv += [flag, str(value)]
    try:
        args = evaluation.parse_args(argv, environ={})
        with _progress() as progress:
            tasks: dict[str, Any] = {}

            def report(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = progress.add_task(stage, total=total)
                progress.update(tasks[stage], completed=done)

            metrics = evaluation.main(args, progress=report)
    except FinetuneInputError as error:
        raise _fail(error) from None

    if as_json:
        print(json.dumps(metrics))
        return
    table = Table(title=f"{metrics['base_model']}" + (f" + {adapter}" if adapter else ""))
    for column in ("split", "n", "loss", "perplexity", "quality", "exact match", "flags"):
        table.add_column(column, justify="left" if column in ("split", "flags") else "right")

    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:.4g}"

    for split, s in metrics["splits"].items():
        flags = ", ".join(f"{k} {v}" for k, v in s["flags"].items())
        table.add_row(split, str(s["n"]), fmt(s["loss"]), fmt(s["perplexity"]), fmt(s["quality"]),
                      fmt(s["exact_match"]), flags)
    Console().print(table)
    Console(stderr=True).print(f"Wrote {output_dir / 'metrics.json'} and {output_dir / 'examples.jsonl'}")


def register(app: typer.Typer) -> None:
    app.command("finetune")(finetune)
    app.command("evaluate")(evaluate)
