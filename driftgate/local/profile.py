"""Settings that make the retrain pipeline run on a laptop CPU: the tiny base model and small
training/evaluation jobs. The stack is the same; only CDK context values differ."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def local_training_context(base_model: Path | str, **overrides: Any) -> dict[str, Any]:
    return {
        "driftgate:base_model_id": str(base_model),
        "driftgate:use_spot_training": False,
        "driftgate:min_training_records": 40,
        "driftgate:training_hyperparameters": {
            "num_train_epochs": "3", "max_length": "128", "per_device_train_batch_size": "8",
            "lora_r": "8", "lora_alpha": "16", "learning_rate": "3e-3", "save_steps": "100000",
            "logging_steps": "20", "use_cpu": "true",
        },
        "driftgate:evaluation_hyperparameters": {"max_new_tokens": "8", "batch_size": "16", "max_length": "128",
                                                 "device": "cpu"},
        **overrides,
    }
