"""The train entry point's arguments (as trl keeps ``ScriptArguments``, ``ModelConfig`` and
``SFTConfig`` beside its scripts): a module of their own, so the ``TrainingArguments`` that
checkpoints pickle resolve to ``finetune.config`` wherever they are loaded, not to ``__main__``."""
from __future__ import annotations

from dataclasses import dataclass, field

from transformers import TrainingArguments


@dataclass
class ScriptArguments:
    train_file: str | None = field(
        default=None,
        metadata={"aliases": ["--train"], "help": "Training JSON Lines file or directory (default: SM_CHANNEL_TRAIN)."},
    )
    eval_file: str | None = field(
        default=None,
        metadata={"aliases": ["--eval"], "help": "Evaluation JSON Lines file or directory (default: SM_CHANNEL_EVAL)."},
    )
    config: str | None = field(
        default=None, metadata={"help": "YAML or JSON file of flag values; command-line flags override it."}
    )
    max_length: int = field(default=512, metadata={"help": "Maximum tokens per example (prompt + response)."})
    max_train_samples: int | None = field(default=None, metadata={"help": "Use only the first N training rows."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Use only the first N evaluation rows."})
    loss_sample_size: int = field(
        default=256, metadata={"help": "Training rows used for the before/after training loss in the manifest."}
    )
    checkpoint_dir: str | None = field(
        default=None,
        metadata={"help": "Where checkpoints go "
                          "(default: /opt/ml/checkpoints in SageMaker, else <output-dir>/checkpoints)."},
    )


@dataclass
class ModelArguments:
    model_name_or_path: str | None = field(
        default=None,
        metadata={"help": "Base model: a Hugging Face id or a local directory (default: SM_CHANNEL_MODEL)."},
    )
    tokenizer_name_or_path: str | None = field(default=None, metadata={"help": "Tokenizer, if not the base model's."})
    dtype: str = field(
        default="auto",
        metadata={"help": "Weights dtype: auto (bf16 on a capable GPU, else float32), float32, bfloat16, float16."},
    )
    trust_remote_code: bool = field(default=False, metadata={"help": "Allow custom model code from the hub."})
    use_peft: bool = field(default=True, metadata={"help": "Train a LoRA adapter; false trains all weights."})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha (scale = alpha / r)."})
    lora_dropout: float = field(default=0.05, metadata={"help": "Dropout on the LoRA input."})
    lora_target_modules: list[str] | None = field(
        default=None,
        metadata={"help": "Modules to adapt (names or one comma-separated string); default per architecture."},
    )
    init_adapter: str | None = field(
        default=None,
        metadata={"help": "Warm start: a LoRA adapter (directory, or one holding model.tar.gz) whose weights and "
                          "LoRA config the training starts from (default: SM_CHANNEL_ADAPTER); omit to start "
                          "LoRA from zero."},
    )
    warm_start: bool = field(
        default=False,
        metadata={"help": "Warm start was asked for: without --init_adapter (no production adapter yet) the "
                          "run trains from scratch and its manifest says so."},
    )

    def __post_init__(self) -> None:
        # SageMaker hyperparameters arrive as one string: accept "q_proj,v_proj".
        if self.lora_target_modules:
            self.lora_target_modules = [m.strip() for item in self.lora_target_modules
                                        for m in item.split(",") if m.strip()]


@dataclass
class SFTConfig(TrainingArguments):
    """``TrainingArguments`` with defaults for LoRA SFT."""

    output_dir: str | None = field(
        default=None,
        metadata={"help": "Where the adapter and manifest go (default: SM_MODEL_DIR)."},
    )
    learning_rate: float = field(default=2e-4, metadata={"help": "Peak learning rate (2e-4 suits LoRA)."})
    num_train_epochs: float = field(default=1.0, metadata={"help": "Epochs over the training set."})
    logging_steps: float = field(default=10, metadata={"help": "Log every N steps."})
    save_steps: float = field(default=200, metadata={"help": "Checkpoint every N steps."})
    save_total_limit: int | None = field(default=2, metadata={"help": "Checkpoints kept."})
    warmup_steps: float = field(default=0.03, metadata={"help": "Warm-up steps, or a fraction of all steps if < 1."})
    lr_scheduler_type: str = field(default="cosine", metadata={"help": "Learning-rate schedule."})
    remove_unused_columns: bool = field(default=False, metadata={"help": "Kept False: rows are pre-tokenised."})

    def __post_init__(self) -> None:
        self.output_dir_given = self.output_dir is not None  # TrainingArguments fills in a default
        super().__post_init__()
