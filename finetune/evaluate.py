"""Score a base model, with or without a LoRA adapter, on an eval set and a golden set.

For every example: the loss on its target (response tokens only, as in training), a greedy
generation (short ``max_new_tokens``) and the API's scorer pack on that generation (quality,
exact match where a reference exists, flags). Per-example rows make paired comparisons
(adapter vs base on the same ids) possible.

Writes ``metrics.json`` (per split: token-weighted loss, perplexity, mean quality, exact-match
rate, flag counts) and ``examples.jsonl`` (``id, split, loss, n_tokens, output, quality,
exact_match, flags``, and ``metadata`` where the example has one: its protected attributes).

# Local
```
python finetune/evaluate.py --adapter runs/adapter --eval data/eval.jsonl \
    --golden golden.jsonl --output-dir runs/eval            # base model read from the adapter manifest
python finetune/evaluate.py --model_name_or_path BASE --eval data/eval.jsonl --output-dir runs/eval-base
```

# SageMaker (entry_point="finetune/evaluate.py", source_dir = the repository root)
Channels ``eval`` and/or ``golden``, ``adapter`` (a training job's output; a model.tar.gz in it is
unpacked) and optionally ``model`` (base weights). Results go to ``SM_MODEL_DIR``.
"""
from __future__ import annotations

import json
import logging
import math
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a script (SageMaker's `python finetune/evaluate.py`): import the package from the
    # repository root, and drop finetune/ itself from the path, where data.py, sagemaker.py, ...
    # would shadow top-level modules of the same names.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from finetune.arguments import parse_layers, run_cli
from finetune.errors import FinetuneInputError
from finetune.formatting import Example, jsonl_files
from finetune.sagemaker import SageMakerEnv

logger = logging.getLogger("finetune.evaluate")

METRICS_SCHEMA = "driftgate.finetune.metrics/v1"
SPLITS = ("eval", "golden")
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class EvalArguments:
    model_name_or_path: str | None = field(
        default=None,
        metadata={"help": "Base model (hub id or directory). Default: SM_CHANNEL_MODEL, else the adapter's manifest."},
    )
    adapter: str | None = field(
        default=None, metadata={"help": "LoRA adapter directory (or one holding model.tar.gz); omit to score the base."}
    )
    eval_file: str | None = field(
        default=None, metadata={"aliases": ["--eval"], "help": "Eval JSON Lines (SM_CHANNEL_EVAL)."}
    )
    golden_file: str | None = field(
        default=None, metadata={"aliases": ["--golden"], "help": "Golden-set JSON Lines (SM_CHANNEL_GOLDEN)."}
    )
    output_dir: str | None = field(
        default=None, metadata={"help": "Where metrics.json and examples.jsonl go (SM_MODEL_DIR)."}
    )
    config: str | None = field(default=None, metadata={"help": "YAML or JSON file of flag values."})
    max_length: int = field(default=512, metadata={"help": "Maximum tokens per example for the loss."})
    max_new_tokens: int = field(default=32, metadata={"help": "Greedy generation length (0 skips generation)."})
    batch_size: int = field(default=8, metadata={"help": "Examples per forward pass."})
    max_examples: int | None = field(default=None, metadata={"help": "Use only the first N rows of each split."})
    dtype: str = field(default="auto", metadata={"help": "auto, float32, bfloat16 or float16."})
    device: str = field(default="auto", metadata={"help": "auto, cpu or cuda."})
    trust_remote_code: bool = field(default=False, metadata={"help": "Allow custom model code from the hub."})


def parse_args(argv: list[str] | None = None, environ: dict[str, str] | None = None) -> EvalArguments:
    sm = SageMakerEnv.detect(environ)
    env_defaults: dict[str, Any] = {}
    if sm is not None:
        env_defaults = {
            "model_name_or_path": sm.channel("model"),
            "adapter": sm.channel("adapter"),
            "eval_file": sm.channel("eval"),
            "golden_file": sm.channel("golden"),
            "output_dir": str(sm.model_dir) if sm.model_dir else None,
        }
    (args,) = parse_layers(
        (EvalArguments,), argv, env_defaults=env_defaults, hyperparameter_argv=sm.hyperparameter_argv() if sm else ()
    )
    return args


def validate(args: EvalArguments) -> None:
    if not args.eval_file and not args.golden_file:
        raise FinetuneInputError("give --eval and/or --golden (or the SageMaker 'eval'/'golden' channels)",
                                 field="--eval")
    if not args.output_dir:
        raise FinetuneInputError("--output_dir is required (or SM_MODEL_DIR)", field="--output_dir")
    for flag, path in (("--eval", args.eval_file), ("--golden", args.golden_file), ("--adapter", args.adapter)):
        if path and not Path(path).exists():
            raise FinetuneInputError(f"{flag} {path}: not found", field=flag)
    if args.max_new_tokens < 0 or args.batch_size < 1 or args.max_length < 16:
        raise FinetuneInputError("--max_new_tokens >= 0, --batch_size >= 1 and --max_length >= 16 are required",
                                 field="--max_new_tokens")


def unpack_adapter(path: str | Path) -> Path:
    """The adapter directory: ``path`` itself, or ``model.tar.gz`` (a training job's upload) unpacked."""
    path = Path(path)
    tarball = path if path.is_file() else path / "model.tar.gz"
    if (path / "adapter_config.json").is_file() or not tarball.is_file():
        return path
    target = Path(tempfile.mkdtemp(prefix="adapter-"))
    with tarfile.open(tarball) as archive:
        try:
            archive.extractall(target, filter="data")  # no absolute paths or links out of target
        except TypeError:  # Python without extraction filters (< 3.10.12 / 3.11.4)
            archive.extractall(target)  # our own training job's upload
    return target


def resolve_base(args: EvalArguments, adapter: Path | None) -> str:
    if args.model_name_or_path:
        return args.model_name_or_path
    if adapter is not None:
        for name, key in (("manifest.json", "base_model"), ("adapter_config.json", "base_model_name_or_path")):
            file = adapter / name
            if file.is_file():
                base = json.loads(file.read_text()).get(key)
                if base:
                    return base
    raise FinetuneInputError("--model_name_or_path is required (no adapter manifest names the base)",
                             field="--model_name_or_path")


def scored(prompt: str, output: str | None, reference: str | None) -> dict[str, Any]:
    """The scorer pack's verdict on one generated output: the fields the gate's guards read."""
    from functions.scoring import score

    report = score(prompt, output, reference=reference) if output is not None else None
    return {
        "output": output,
        "quality": round(report.quality, 6) if report else None,
        "exact_match": report.exact_match if report else None,
        "flags": list(report.flags) if report else [],
    }


def score_rows(examples: Sequence[Example], split: str, losses: Sequence[tuple[float, int]],
               outputs: Sequence[str | None]) -> list[dict]:
    rows = []
    for example, (loss_sum, n_tokens), output in zip(examples, losses, outputs, strict=True):
        row = {
            "id": example.id,
            "split": split,
            "loss": round(loss_sum / n_tokens, 6) if n_tokens else None,
            "n_tokens": n_tokens,
            **scored(example.prompt, output, example.reference),
        }
        if example.metadata:  # the groups the gate's disparate-impact guard compares
            row["metadata"] = dict(example.metadata)
        rows.append(row)
    return rows


def summarize(rows: Sequence[dict], losses: Sequence[tuple[float, int]]) -> dict[str, Any]:
    from finetune.modeling import mean_token_loss

    loss = mean_token_loss(losses)
    example_losses = [r["loss"] for r in rows if r["loss"] is not None]
    qualities = [r["quality"] for r in rows if r["quality"] is not None]
    matches = [r["exact_match"] for r in rows if r["exact_match"] is not None]
    return {
        "n": len(rows),
        "n_tokens": sum(n for _, n in losses),
        "loss": round(loss, 6) if loss is not None else None,
        "perplexity": round(math.exp(min(loss, 50.0)), 4) if loss is not None else None,
        "mean_example_loss": round(sum(example_losses) / len(example_losses), 6) if example_losses else None,
        "quality": round(sum(qualities) / len(qualities), 6) if qualities else None,
        "exact_match": round(sum(matches) / len(matches), 6) if matches else None,
        "exact_match_n": len(matches),
        "flags": dict(sorted(Counter(flag for r in rows for flag in r["flags"]).items())),
    }


def main(args: EvalArguments, progress: Progress | None = None) -> dict[str, Any]:
    """Evaluate and write ``metrics.json`` + ``examples.jsonl``; returns the metrics."""
    validate(args)
    assert args.output_dir, "validate() checked it"
    from finetune.formatting import load_examples
    from finetune.hashing import sha256_file
    from finetune.modeling import (
        example_losses,
        generate,
        library_versions,
        load_for_inference,
        resolve_device,
        resolve_dtype,
        tokenize_examples,
    )

    started = time.perf_counter()
    splits = {name: path for name, path in zip(SPLITS, (args.eval_file, args.golden_file), strict=True) if path}
    examples = {name: load_examples(path, require_target=False, limit=args.max_examples)
                for name, path in splits.items()}
    adapter = unpack_adapter(args.adapter) if args.adapter else None
    base = resolve_base(args, adapter)
    device = resolve_device(args.device)
    model, tokenizer = load_for_inference(base, adapter, dtype=resolve_dtype(args.dtype, device), device=device,
                                          trust_remote_code=args.trust_remote_code)
    logger.info("evaluating %s%s on %s", base, f" + {adapter}" if adapter else "",
                {name: len(items) for name, items in examples.items()})

    def reporter(stage: str) -> Callable[[int, int], None] | None:
        return (lambda done, total: progress(stage, done, total)) if progress else None

    all_rows: list[dict] = []
    summaries: dict[str, Any] = {}
    for split, items in examples.items():
        features = tokenize_examples(tokenizer, items, args.max_length)
        losses = example_losses(model, features, tokenizer.pad_token_id, batch_size=args.batch_size,
                                progress=reporter(f"{split}: loss"))
        # An example without a target has no tokens to score: its loss row is empty, not zero.
        losses = [(s, n) if item.target else (0.0, 0) for (s, n), item in zip(losses, items, strict=True)]
        outputs: Sequence[str | None] = [None] * len(items)
        if args.max_new_tokens:
            outputs = generate(model, tokenizer, [item.prompt for item in items], max_new_tokens=args.max_new_tokens,
                               max_length=args.max_length, batch_size=args.batch_size,
                               progress=reporter(f"{split}: generate"))
        rows = score_rows(items, split, losses, outputs)
        summaries[split] = summarize(rows, losses)
        all_rows.extend(rows)
        logger.info("%s: %s", split, json.dumps({k: v for k, v in summaries[split].items() if k != "flags"}))

    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    with (output_dir / "examples.jsonl").open("w", encoding="utf-8") as handle:
        for row in all_rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    weights = adapter / "adapter_model.safetensors" if adapter else None
    metrics = {
        "schema": METRICS_SCHEMA,
        "base_model": base,
        "adapter": str(args.adapter) if args.adapter else None,
        "adapter_sha256": sha256_file(weights) if weights and weights.is_file() else None,
        "datasets": {name: {"files": [f.name for f in jsonl_files(path)]} for name, path in splits.items()},
        "splits": summaries,
        "generation": {"greedy": True, "max_new_tokens": args.max_new_tokens, "max_length": args.max_length},
        "examples_file": "examples.jsonl",
        "versions": library_versions(),
        "runtime_s": round(time.perf_counter() - started, 2),
    }
    (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def run(argv: list[str] | None = None) -> dict[str, Any]:
    return main(parse_args(argv))


if __name__ == "__main__":
    sys.exit(run_cli(run))
