"""Warm start vs training from scratch, side by side in one run (continual learning, issue #16).

    .venv/bin/python -m benchmarks.bench_warm_start        # tiny base, CPU; last line is JSON

The story the pipeline lives: the tiny base (``finetune.base_model``, the local "production"
model) got a production adapter trained on the old traffic, real AlpacaEval answers of Mixtral
(``--old`` records); its eval split is the frozen golden set. Then the traffic moves to a new
domain, real GSM8K questions with their worked answers (``--new`` records). Each challenger
trains on the new set with ``finetune.train`` (same flags, seed and batches) and is scored on
two held-out sets:

- ``new_eval_loss``: the new data's eval split (what the retrain is for);
- ``golden_loss``: the golden set (forgetting: how much of the old traffic it lost);
- ``train_s``: the training job's own runtime (its manifest), and its ratio to scratch's.

Arms: ``scratch`` (today's default: a fresh LoRA on the new data), ``scratch+replay``,
``warm`` (LoRA from the production adapter, no replay), ``warm+replay`` (the ``warm_start``
setting: the new data plus ``--replay-fraction`` of replayed old records, built by
``functions.dataset`` exactly as PrepareDataset builds it), and ``warm+replay, half the epochs``
(does a warm start need the full schedule?). The arms run one after the other in this process.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # runnable as a plain script

OLD = ("alpaca_eval", "Mixtral-8x7B-Instruct-v0.1.jsonl")
NEW = ("gsm8k", "test.jsonl")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", type=int, default=200, help="old-traffic records (production adapter, golden set)")
    parser.add_argument("--new", type=int, default=200, help="new-traffic records (the retrain's data)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs of each challenger (the production adapter: 2)")
    parser.add_argument("--max-length", type=int, default=96)
    parser.add_argument("--replay-fraction", type=float, default=0.2)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (the machine is shared)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.old < 40 or args.new < 40 or args.epochs < 2:
        parser.error("--old and --new need at least 40 records, --epochs at least 2")
    return args


def _flags(args: argparse.Namespace, epochs: float) -> list[str]:
    return ["--max_length", str(args.max_length), "--learning_rate", "3e-3", "--num_train_epochs", str(epochs),
            "--per_device_train_batch_size", "8", "--lora_r", "8", "--lora_alpha", "16", "--save_steps", "100000",
            "--logging_steps", "1000", "--seed", str(args.seed), "--disable_tqdm", "true", "--use_cpu", "true",
            "--loss_sample_size", "64"]


def _records(parts: tuple[str, str], n: int) -> list[dict[str, Any]]:
    from driftgate.paths import data_dir
    from finetune.formatting import read_jsonl

    return read_jsonl(data_dir().joinpath(*parts))[:n]


def _write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> dict[str, Any]:
    import torch

    from driftgate.paths import data_dir, tiny_base_cache
    from finetune import train
    from finetune.base_model import baseline_records, build_tiny_base
    from finetune.formatting import load_examples
    from finetune.modeling import example_losses, load_tokenizer, mean_token_loss, tokenize_examples
    from functions.dataset import DataConfig, build_training_set
    from functions.dataset.replay import Replay

    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    base = build_tiny_base(tiny_base_cache(), baseline_records(data_dir()))
    work = Path(tempfile.mkdtemp(prefix="bench-warm-start-"))
    config = DataConfig(min_records=16)
    old = _write(work / "old.jsonl", _records(OLD, args.old))
    build_training_set([old], work / "old", config)  # its eval split is the golden set
    golden = work / "old" / "eval.jsonl"
    new = _write(work / "new.jsonl", _records(NEW, args.new))
    build_training_set([new], work / "plain", config)
    golden_ids = frozenset(json.loads(line)["id"] for line in golden.read_text().splitlines())
    # The replay candidates: the old traffic (the frozen baseline's sample in the pipeline).
    replay = Replay(source=work / "old" / "train.jsonl", fraction=args.replay_fraction, exclude_ids=golden_ids)
    replayed = build_training_set([new], work / "replayed", config, replay)

    def run(name: str, data: Path, epochs: float, *extra: str) -> train.TrainResult:
        argv = ["--model_name_or_path", str(base), "--train", str(data / "train.jsonl"),
                "--eval", str(work / "plain" / "eval.jsonl"), "--output-dir", str(work / name),
                *_flags(args, epochs), *extra]
        return train.main(*train.parse_args(argv, environ={}), environ={})

    production = run("production", work / "old", 2)
    tokenizer = load_tokenizer(base)
    golden_features = tokenize_examples(tokenizer, load_examples(golden), args.max_length)

    def golden_loss(result: train.TrainResult) -> float:
        return round(float(mean_token_loss(example_losses(result.model, golden_features, tokenizer.pad_token_id,
                                                          batch_size=16)) or 0.0), 4)

    warm = ("--init_adapter", str(production.output_dir))
    half = args.epochs / 2
    arms = {
        "scratch": run("scratch", work / "plain", args.epochs),
        "scratch+replay": run("scratch-replay", work / "replayed", args.epochs),
        "warm": run("warm", work / "plain", args.epochs, *warm),
        "warm+replay": run("warm-replay", work / "replayed", args.epochs, *warm),
        f"warm+replay, {half:g} epochs": run("warm-replay-half", work / "replayed", half, *warm),
    }
    scratch_s = arms["scratch"].manifest["train_runtime_s"]
    rows = {}
    for name, result in arms.items():
        loss = result.manifest["loss"]
        rows[name] = {"new_eval_loss_before": loss["eval_before"], "new_eval_loss": loss["eval_after"],
                      "golden_loss": golden_loss(result), "train_s": result.manifest["train_runtime_s"],
                      "steps": result.manifest["global_step"],
                      "time_over_scratch": round(result.manifest["train_runtime_s"] / scratch_s, 3)}
    report = {
        "bench": "warm_start",
        "old_records": args.old, "new_records": args.new, "epochs": args.epochs,
        "replay_fraction": args.replay_fraction, "replayed_rows": replayed["counts"].get("replay", 0),
        "new_train_rows": replayed["counts"]["train"] - replayed["counts"].get("replay", 0),
        "golden_rows": len(golden_features), "torch_threads": torch.get_num_threads(),
        "production": {"golden_loss": golden_loss(production),
                       "new_eval_loss": production.manifest["loss"]["eval_after"]},
        "arms": rows,
    }
    width = max(map(len, rows))
    print(f"{'arm':<{width}}  new eval loss (before)  golden loss  train s  x scratch  steps")
    for name, row in rows.items():
        print(f"{name:<{width}}  {row['new_eval_loss']:.4f} ({row['new_eval_loss_before']:.4f})       "
              f"{row['golden_loss']:.4f}       {row['train_s']:7.1f}  {row['time_over_scratch']:.3f}"
              f"      {row['steps']}")
    print(f"production adapter: golden loss {report['production']['golden_loss']}, new eval loss "
          f"{report['production']['new_eval_loss']}")
    return report


if __name__ == "__main__":
    print(json.dumps(main()))
