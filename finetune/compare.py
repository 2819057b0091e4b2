"""Evaluate a challenger adapter and the champion (the production adapter, or the base model for
a model's first adapter) on the same eval and golden examples, for the gate's paired statistics.

# Local
```
python finetune/compare.py --challenger runs/adapter [--champion runs/prod-adapter] \
    --model_name_or_path BASE --eval eval.jsonl --golden golden.jsonl --output_dir runs/compare
```

# SageMaker (entry point ``finetune/compare.py``)
Channels ``challenger`` and optionally ``champion`` (training-job outputs: model.tar.gz is
unpacked), ``eval``, ``golden``; hyperparameters as flags. Writes ``challenger/`` and
``champion/`` (each ``metrics.json`` + ``examples.jsonl``) and ``comparison.json`` to SM_MODEL_DIR.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a script (SageMaker): import the package from the repository root (see evaluate.py).
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from finetune.arguments import parse_layers, run_cli
from finetune.errors import FinetuneInputError
from finetune.evaluate import EvalArguments
from finetune.evaluate import main as evaluate
from finetune.sagemaker import SageMakerEnv


@dataclass
class CompareArguments:
    challenger: str | None = field(default=None, metadata={"help": "The new adapter (SM_CHANNEL_CHALLENGER)."})
    champion: str | None = field(
        default=None, metadata={"help": "The production adapter (SM_CHANNEL_CHAMPION); omit to compare with the base."})


def parse_args(argv: list[str] | None = None,
               environ: dict[str, str] | None = None) -> tuple[CompareArguments, EvalArguments]:
    sm = SageMakerEnv.detect(environ)
    env_defaults: dict[str, Any] = {}
    if sm is not None:
        env_defaults = {"challenger": sm.channel("challenger"), "champion": sm.channel("champion"),
                        "eval_file": sm.channel("eval"), "golden_file": sm.channel("golden"),
                        "output_dir": str(sm.model_dir) if sm.model_dir else None}
    compare, evaluation = parse_layers((CompareArguments, EvalArguments), argv, env_defaults=env_defaults,
                                       hyperparameter_argv=sm.hyperparameter_argv() if sm else ())
    return compare, evaluation


def main(compare: CompareArguments, evaluation: EvalArguments) -> dict[str, Any]:
    if not compare.challenger:
        raise FinetuneInputError("--challenger is required (or the SageMaker 'challenger' channel)",
                                 field="--challenger")
    if evaluation.adapter:
        raise FinetuneInputError("use --challenger/--champion, not --adapter", field="--adapter")
    if not evaluation.output_dir:
        raise FinetuneInputError("--output_dir is required (or SM_MODEL_DIR)", field="--output_dir")
    output = Path(evaluation.output_dir)
    summary: dict[str, Any] = {}
    for who, adapter in (("challenger", compare.challenger), ("champion", compare.champion)):
        values = {f.name: getattr(evaluation, f.name) for f in fields(EvalArguments)}
        values.update(adapter=adapter, output_dir=str(output / who))
        summary[who] = {"adapter": adapter or "base model", "metrics": evaluate(EvalArguments(**values))}
    (output / "comparison.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def run(argv: list[str] | None = None) -> dict[str, Any]:
    return main(*parse_args(argv))


if __name__ == "__main__":
    sys.exit(run_cli(run))
