"""Settings that make the retrain pipeline run on a laptop CPU: the tiny base model and small
training/evaluation jobs. The stack is the same; only CDK context values differ."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def local_training_context(base_model: Path | str, *, quick: bool = False, **overrides: Any) -> dict[str, Any]:
    """``quick``: one epoch on 64-token examples, for runs that test the pipeline's control flow
    (faults, approvals) rather than how much the adapter learns; a quick run still beats the base."""
    length = "64" if quick else "128"
    return {
        "driftgate:base_model_id": str(base_model),
        "driftgate:use_spot_training": False,
        "driftgate:min_training_records": 40,
        "driftgate:training_hyperparameters": {
            "num_train_epochs": "1" if quick else "3", "max_length": length, "per_device_train_batch_size": "8",
            "lora_r": "8", "lora_alpha": "16", "learning_rate": "3e-3", "save_steps": "100000",
            "logging_steps": "20", "use_cpu": "true",
        },
        "driftgate:evaluation_hyperparameters": {"max_new_tokens": "8", "batch_size": "16", "max_length": length,
                                                 "device": "cpu"},
        **overrides,
    }
