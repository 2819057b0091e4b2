"""User-facing settings of the stack, read from CDK context (``cdk.json`` or ``-c key=value``)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from constructs import Node

PREFIX = "driftgate:"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Every setting a user may change; each maps to the context key ``driftgate:<name>``."""

    base_model_id: str = "Qwen/Qwen2.5-0.5B-Instruct"
    monitored_models: tuple[str, ...] = ("support-bot",)
    drift_alpha: float = 0.05
    quality_decay_threshold: float = 0.1
    min_window_samples: int = 50
    window_hours: int = 24
    drift_schedule: str = "rate(1 hour)"
    cooldown_hours: int = 24
    approval_mode: Literal["auto", "manual"] = "auto"
    training_instance_type: str = "ml.g5.xlarge"
    training_image_uri: str = (
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/"
        "huggingface-pytorch-training:2.5.1-transformers4.49.0-gpu-py311-cu124-ubuntu22.04"
    )
    training_hyperparameters: dict[str, str] = field(default_factory=lambda: {
        "num_train_epochs": "2", "learning_rate": "2e-4", "lora_r": "16", "lora_alpha": "32",
        "per_device_train_batch_size": "8", "max_length": "1024", "bf16": "true"})
    evaluation_hyperparameters: dict[str, str] = field(default_factory=lambda: {
        "max_new_tokens": "256", "batch_size": "8"})
    gate: dict[str, float | str] = field(default_factory=lambda: {
        "min_gain": 0.0, "golden_loss_margin": 0.05, "refusal_margin": 0.02, "pii_margin": 0.0})
    min_training_quality: float = 0.5
    use_spot_training: bool = True
    min_training_records: int = 200
    raw_retention_days: int = 365
    api_rate_limit: int = 50
    api_burst_limit: int = 100
    notification_email: str = ""
    enable_waf: bool = True

    def __post_init__(self) -> None:
        if self.approval_mode not in ("auto", "manual"):
            raise ValueError(f"driftgate:approval_mode must be 'auto' or 'manual', got {self.approval_mode!r}")
        if not 0 < self.drift_alpha < 1:
            raise ValueError(f"driftgate:drift_alpha must be in (0, 1), got {self.drift_alpha}")
        if self.min_window_samples < 2 or self.window_hours < 1 or self.cooldown_hours < 0:
            raise ValueError("driftgate:min_window_samples >= 2, window_hours >= 1, cooldown_hours >= 0")

    @classmethod
    def from_node(cls, node: Node) -> "Settings":
        """Read each field from context; ``-c`` values arrive as strings, so they are coerced."""
        values: dict[str, Any] = {}
        for setting in fields(cls):
            raw = node.try_get_context(PREFIX + setting.name)
            if raw is None:
                continue
            default = setting.default_factory() if callable(setting.default_factory) else setting.default
            values[setting.name] = _coerce(raw, default)
        return cls(**values)


def _coerce(raw: Any, default: Any) -> Any:
    if isinstance(default, dict):
        value = json.loads(raw) if isinstance(raw, str) else raw
        if not isinstance(value, dict):
            raise ValueError(f"expected a JSON object, got {raw!r}")
        return {str(k): v for k, v in value.items()}
    if isinstance(default, bool):
        return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes")
    if isinstance(default, tuple):
        items = json.loads(raw) if isinstance(raw, str) and raw.startswith("[") else raw
        return tuple([items] if isinstance(items, str) else items)
    return type(default)(raw)
