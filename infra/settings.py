"""User-facing settings of the stack, read from CDK context (``cdk.json`` or ``-c key=value``)."""
from __future__ import annotations

import json
from dataclasses import dataclass, fields
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
        for field in fields(cls):
            raw = node.try_get_context(PREFIX + field.name)
            if raw is None:
                continue
            values[field.name] = _coerce(raw, field.default)
        return cls(**values)


def _coerce(raw: Any, default: Any) -> Any:
    if isinstance(default, bool):
        return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes")
    if isinstance(default, tuple):
        items = json.loads(raw) if isinstance(raw, str) and raw.startswith("[") else raw
        return tuple([items] if isinstance(items, str) else items)
    return type(default)(raw)
