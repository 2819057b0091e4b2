"""LoRA supervised fine-tuning of a causal LM on prompt/response JSON Lines.

The loss counts only the response tokens (prompt tokens are labelled -100). The output
directory holds ``adapter_config.json``, ``adapter_model.safetensors``, the tokenizer and
``manifest.json`` (base model, dataset sha256, hyperparameters, seed, library versions, train and
eval loss before/after, sha256 of the adapter weights).

# Local
```
python finetune/train.py \
    --model_name_or_path .driftgate/tiny-base/<key> \
    --train data/train.jsonl --eval data/eval.jsonl \
    --output-dir runs/adapter \
    --learning_rate 2e-4 --num_train_epochs 1 \
    --lora_r 16 --lora_alpha 32
```

# From a config file (YAML or JSON; keys are the flag names, command-line flags win)
```
python finetune/train.py --config finetune.yaml --output-dir runs/adapter
```

# Resume an interrupted run from its last checkpoint (``<output-dir>/checkpoints``)
```
python finetune/train.py ... --resume_from_checkpoint auto
```

# SageMaker training job (entry_point="finetune/train.py", source_dir = the repository root)
- channels: ``train`` (required), ``eval`` (optional), ``model`` (optional: base weights from S3;
  otherwise ``model_name_or_path`` is a Hugging Face id the job downloads), ``adapter`` (optional:
  warm start, the production adapter's model.tar.gz, whose LoRA weights the training starts from);
- hyperparameters: any flag below without its dashes, e.g. ``{"model_name_or_path":
  "Qwen/Qwen2.5-0.5B", "lora_r": "16"}``; SageMaker passes them as strings, that is fine;
- artifacts go to ``SM_MODEL_DIR`` (uploaded as model.tar.gz);
- checkpoints go to ``/opt/ml/checkpoints`` when the job has a checkpoint config, and a restarted
  (spot) job resumes from them; ``SM_BASE_DIR`` moves the ``/opt/ml`` root.
"""
from __future__ import annotations

import json
import logging
import math
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NoReturn, cast

if __package__ in (None, ""):
    # Run as a script (SageMaker's `python finetune/train.py`): import the package from the
    # repository root, and drop finetune/ itself from the path, where data.py, sagemaker.py, ...
    # would shadow top-level modules of the same names.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from transformers import PrinterCallback, TrainerCallback

from finetune.arguments import parse_layers, run_cli
from finetune.config import ModelArguments, ScriptArguments, SFTConfig
from finetune.errors import FinetuneInputError
from finetune.formatting import jsonl_files
from finetune.sagemaker import SageMakerEnv

logger = logging.getLogger("finetune.train")

MANIFEST_SCHEMA = "driftgate.finetune.adapter/v1"
RESUME_LATEST = frozenset({"auto", "latest", "last", "true", "yes", "1"})
RESUME_NEVER = frozenset({"false", "no", "none", "0", ""})


@dataclass
class TrainResult:
    output_dir: Path
    manifest: dict[str, Any]
    model: Any  # the trained model, still in memory (tests compare it with the saved adapter)


def build_lora_config(args: ModelArguments, model_type: str | None = None):
    """The LoRA config for these arguments; target modules default per architecture."""
    from peft import LoraConfig

    from finetune.modeling import default_target_modules

    return LoraConfig(
        r=args.lora_r,
        lora_alpha=args.lora_alpha,
        lora_dropout=args.lora_dropout,
        target_modules=args.lora_target_modules or default_target_modules(model_type),
        bias="none",
        task_type="CAUSAL_LM",
    )


def parse_args(argv: list[str] | None = None, environ: Mapping[str, str] | None = None):
    """(script, model, training) arguments from SageMaker env < --config < hyperparameters < argv."""
    sm = SageMakerEnv.detect(environ)
    env_defaults: dict[str, Any] = {}
    if sm is not None:
        env_defaults = {
            "train_file": sm.channel("train"),
            "eval_file": sm.channel("eval"),
            "model_name_or_path": sm.channel("model"),
            "init_adapter": sm.channel("adapter"),
            "output_dir": str(sm.model_dir) if sm.model_dir else None,
            "checkpoint_dir": str(sm.checkpoint_dir) if sm.checkpoint_dir else None,
            "disable_tqdm": True,  # progress bars are noise in CloudWatch; the log callback remains
        }
    return parse_layers(
        (ScriptArguments, ModelArguments, SFTConfig),
        argv,
        env_defaults=env_defaults,
        hyperparameter_argv=sm.hyperparameter_argv() if sm else (),
    )


def validate(script_args: ScriptArguments, model_args: ModelArguments, training_args: SFTConfig) -> None:
    """Fail before any model is loaded: missing inputs, out-of-range values, conflicting flags."""

    def fail(message: str, flag: str) -> NoReturn:
        raise FinetuneInputError(message, field=flag)

    if not script_args.train_file:
        fail("--train is required (or the SageMaker 'train' channel)", "--train")
    if not training_args.output_dir_given:
        fail("--output-dir is required (or SM_MODEL_DIR)", "--output-dir")
    if not model_args.model_name_or_path:
        fail("--model_name_or_path is required (or the SageMaker 'model' channel)", "--model_name_or_path")
    for path in (script_args.train_file, script_args.eval_file):
        if path:
            jsonl_files(path)  # raises for a missing file or an empty channel directory
    if script_args.eval_file and Path(script_args.eval_file).resolve() == Path(script_args.train_file).resolve():
        fail("conflicting flags: --train and --eval are the same file; the eval loss would be meaningless", "--eval")
    if not model_args.use_peft and model_args.lora_target_modules:
        fail("conflicting flags: --lora_target_modules needs LoRA, but --use_peft is false", "--lora_target_modules")
    if not model_args.use_peft and model_args.init_adapter:
        fail("conflicting flags: --init_adapter is a LoRA adapter, but --use_peft is false", "--init_adapter")
    if model_args.init_adapter and not Path(model_args.init_adapter).exists():
        fail(f"--init_adapter {model_args.init_adapter}: no such adapter", "--init_adapter")
    eval_strategy = getattr(training_args.eval_strategy, "value", training_args.eval_strategy)
    if eval_strategy != "no" and not script_args.eval_file:
        fail(f"conflicting flags: --eval_strategy {eval_strategy} needs --eval", "--eval_strategy")
    if model_args.lora_r < 1:
        fail(f"--lora_r must be >= 1, got {model_args.lora_r}", "--lora_r")
    if model_args.lora_alpha <= 0:
        fail(f"--lora_alpha must be > 0, got {model_args.lora_alpha}", "--lora_alpha")
    if not 0.0 <= model_args.lora_dropout < 1.0:
        fail(f"--lora_dropout must be in [0, 1), got {model_args.lora_dropout}", "--lora_dropout")
    if script_args.max_length < 16:
        fail(f"--max_length must be >= 16, got {script_args.max_length}", "--max_length")
    resume = training_args.resume_from_checkpoint
    if resume and resume.lower() not in RESUME_LATEST | RESUME_NEVER and not Path(resume).is_dir():
        fail(f"--resume_from_checkpoint {resume}: no such checkpoint directory", "--resume_from_checkpoint")


def resolve_resume(value: str | None, checkpoint_dir: Path, *, auto: bool) -> str | None:
    """The checkpoint to resume from: an explicit path, or the latest one for ``auto`` (and by
    default in SageMaker, where a restarted spot job finds its synced checkpoints)."""
    from transformers.trainer_utils import get_last_checkpoint

    if value is None and not auto or value is not None and value.lower() in RESUME_NEVER:
        return None
    if value is None or value.lower() in RESUME_LATEST:
        last = get_last_checkpoint(str(checkpoint_dir)) if checkpoint_dir.is_dir() else None
        if last is None:
            logger.info("no checkpoint in %s: starting from scratch", checkpoint_dir)
        return last
    return value


class LogProgress(TrainerCallback):
    """One log line per logging step, readable in CloudWatch and in a terminal."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            shown = {k: round(v, 4) if isinstance(v, float) else v for k, v in logs.items() if k != "total_flos"}
            logger.info("step %d/%d %s", state.global_step, state.max_steps, json.dumps(shown))


def _checkpoint_dir(script_args: ScriptArguments, output_dir: Path, in_sagemaker: bool) -> Path:
    if script_args.checkpoint_dir:
        return Path(script_args.checkpoint_dir)
    if in_sagemaker:
        # No checkpoint config: keep checkpoints out of SM_MODEL_DIR (it is uploaded whole).
        return Path(tempfile.mkdtemp(prefix="checkpoints-"))
    return output_dir / "checkpoints"


def _load_trainable(model_args: ModelArguments, training_args: SFTConfig) -> tuple[Any, Any, dict[str, Any]]:
    """(tokenizer, model on the training device, how its LoRA started), the model wrapped in LoRA
    unless --use_peft false: a fresh LoRA (B = 0), or the --init_adapter's weights (warm start)."""
    from peft import PeftModel, get_peft_model

    from finetune.evaluate import unpack_adapter
    from finetune.hashing import sha256_file
    from finetune.modeling import load_causal_lm, load_tokenizer, resolve_dtype

    assert model_args.model_name_or_path, "validate() checked it"
    device = training_args.device
    if device.type == "cpu":
        training_args.dataloader_pin_memory = False  # pinning needs an accelerator; it only warns
    tokenizer = load_tokenizer(model_args.tokenizer_name_or_path or model_args.model_name_or_path,
                               trust_remote_code=model_args.trust_remote_code)
    model = load_causal_lm(model_args.model_name_or_path, dtype=resolve_dtype(model_args.dtype, device),
                           device=device, trust_remote_code=model_args.trust_remote_code)
    init: dict[str, Any] = {"from": "scratch" if model_args.use_peft else "base weights",
                            "reason": "no production adapter given" if model_args.warm_start else "warm start off"}
    if model_args.use_peft:
        if training_args.gradient_checkpointing:
            model.enable_input_require_grads()  # checkpointed blocks need a grad-carrying input
        if model_args.init_adapter:
            # The adapter's own LoRA config (rank, targets) comes with its weights: they only fit it.
            adapter = unpack_adapter(model_args.init_adapter)
            model = PeftModel.from_pretrained(model, str(adapter), is_trainable=True)
            init = {"from": "adapter", "adapter": model_args.init_adapter,
                    "sha256": sha256_file(adapter / "adapter_model.safetensors")}
        else:
            model = get_peft_model(model, build_lora_config(model_args, model.config.model_type))
    logger.info("LoRA starts from %s", json.dumps(init))
    return tokenizer, model, init


def _loss(losses: list[tuple[float, int]]) -> float | None:
    from finetune.modeling import mean_token_loss

    value = mean_token_loss(losses)
    return round(value, 6) if value is not None and math.isfinite(value) else value


def main(
    script_args: ScriptArguments,
    model_args: ModelArguments,
    training_args: SFTConfig,
    callbacks: list[TrainerCallback] | None = None,
    environ: Mapping[str, str] | None = None,
) -> TrainResult:
    """Train and save; ``environ`` (default ``os.environ``) says whether this is a SageMaker job."""
    validate(script_args, model_args, training_args)
    assert script_args.train_file and training_args.output_dir, "validate() checked them"

    import datasets
    from transformers import Trainer, set_seed

    from finetune.formatting import CausalLMCollator, encode_example, load_examples
    from finetune.hashing import sha256_files
    from finetune.modeling import example_losses, library_versions, tokenize_examples

    started = time.perf_counter()
    output_dir = Path(training_args.output_dir)
    in_sagemaker = SageMakerEnv.detect(environ) is not None
    checkpoint_dir = _checkpoint_dir(script_args, output_dir, in_sagemaker)
    resume = resolve_resume(training_args.resume_from_checkpoint, checkpoint_dir, auto=in_sagemaker)
    set_seed(training_args.seed)

    train_examples = load_examples(script_args.train_file, limit=script_args.max_train_samples)
    eval_examples = (load_examples(script_args.eval_file, limit=script_args.max_eval_samples)
                     if script_args.eval_file else [])
    logger.info("data: %d train, %d eval examples", len(train_examples), len(eval_examples))

    tokenizer, model, init = _load_trainable(model_args, training_args)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    logger.info("model: %s, %d trainable of %d parameters", model_args.model_name_or_path, trainable, total)

    def tokenize(row: dict[str, Any]) -> dict[str, list[int]]:
        return encode_example(tokenizer, row["prompt"], row["target"], script_args.max_length)

    train_dataset = datasets.Dataset.from_list([asdict(e) for e in train_examples])
    train_dataset = train_dataset.map(tokenize, remove_columns=train_dataset.column_names)
    eval_features = tokenize_examples(tokenizer, eval_examples, script_args.max_length)
    sample_features = list(train_dataset.select(range(min(script_args.loss_sample_size, len(train_dataset)))))
    pad_id = tokenizer.pad_token_id
    batch = training_args.per_device_eval_batch_size

    def losses() -> dict[str, float | None]:
        return {
            "train": _loss(example_losses(model, sample_features, pad_id, batch_size=batch)),
            "eval": _loss(example_losses(model, eval_features, pad_id, batch_size=batch)) if eval_features else None,
        }

    before = losses()
    logger.info("loss before: %s", before)

    training_args.output_dir = str(checkpoint_dir)  # the Trainer's own output is checkpoints only
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=datasets.Dataset.from_list(eval_features) if training_args.eval_strategy != "no" else None,
        data_collator=CausalLMCollator(pad_id),
        processing_class=tokenizer,
        callbacks=list(callbacks or []),
    )
    if training_args.disable_tqdm:
        # Without a progress bar, log one line per logging step instead of printed dicts.
        trainer.remove_callback(PrinterCallback)
        trainer.add_callback(LogProgress())
    if resume:
        logger.info("resuming from %s", resume)
    outcome = trainer.train(resume_from_checkpoint=resume)
    training_args.output_dir = str(output_dir)
    model = cast(Any, trainer.model)  # a PreTrainedModel or PeftModel; the Trainer types it as any Module
    after = losses()
    logger.info("loss after: %s", after)

    output_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    # A full fine-tune of a large model saves shards; one digest covers them all.
    weights = sorted(output_dir.glob("adapter_model.safetensors" if model_args.use_peft else "model*.safetensors"))
    train_files = jsonl_files(script_args.train_file)
    eval_files = jsonl_files(script_args.eval_file) if script_args.eval_file else []
    manifest = {
        "schema": MANIFEST_SCHEMA,
        "kind": "lora" if model_args.use_peft else "full",
        "base_model": model_args.model_name_or_path,
        "base_model_revision": getattr(model.config, "_commit_hash", None),
        "dataset": {
            "train": {"files": [f.name for f in train_files], "sha256": sha256_files(train_files),
                      "examples": len(train_examples)},
            "eval": {"files": [f.name for f in eval_files], "sha256": sha256_files(eval_files) if eval_files else None,
                     "examples": len(eval_examples)},
        },
        "hyperparameters": _hyperparameters(script_args, model_args, training_args, model),
        "seed": training_args.seed,
        "versions": library_versions(),
        "loss": {
            "train_before": before["train"], "train_after": after["train"],
            "eval_before": before["eval"], "eval_after": after["eval"],
            "train_sample_examples": len(sample_features),
        },
        "global_step": outcome.global_step,
        "train_runtime_s": round(time.perf_counter() - started, 2),
        "resumed_from": Path(resume).name if resume else None,
        "init": init,  # warm start: the adapter the LoRA weights started from, else "scratch" and why
        "parameters": {"trainable": trainable, "total": total},
        "weights": {"files": [w.name for w in weights], "sha256": sha256_files(weights)},
    }
    (output_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    logger.info("saved %s to %s", manifest["kind"], output_dir)
    return TrainResult(output_dir=output_dir, manifest=manifest, model=model)


def _hyperparameters(script_args: ScriptArguments, model_args: ModelArguments, training_args: SFTConfig,
                     model: Any) -> dict:
    peft_config = getattr(model, "peft_config", {}).get("default")
    targets = sorted(peft_config.target_modules) if peft_config and not isinstance(peft_config.target_modules, str) \
        else getattr(peft_config, "target_modules", None)
    return {
        "use_peft": model_args.use_peft,
        "lora_r": model_args.lora_r if model_args.use_peft else None,
        "lora_alpha": model_args.lora_alpha if model_args.use_peft else None,
        "lora_dropout": model_args.lora_dropout if model_args.use_peft else None,
        "lora_target_modules": targets,
        "dtype": model_args.dtype,
        "max_length": script_args.max_length,
        "learning_rate": training_args.learning_rate,
        "num_train_epochs": training_args.num_train_epochs,
        "max_steps": training_args.max_steps,
        "per_device_train_batch_size": training_args.per_device_train_batch_size,
        "gradient_accumulation_steps": training_args.gradient_accumulation_steps,
        "lr_scheduler_type": str(getattr(training_args.lr_scheduler_type, "value", training_args.lr_scheduler_type)),
        "warmup_steps": training_args.warmup_steps,
        "weight_decay": training_args.weight_decay,
        "optim": str(getattr(training_args.optim, "value", training_args.optim)),
        "bf16": training_args.bf16,
        "gradient_checkpointing": training_args.gradient_checkpointing,
    }


def run(argv: list[str] | None = None) -> TrainResult:
    return main(*parse_args(argv))


if __name__ == "__main__":
    sys.exit(run_cli(run))
