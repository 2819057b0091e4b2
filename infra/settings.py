"""User-facing settings of the stack, read from CDK context (``cdk.json`` or ``-c key=value``)."""
from __future__ import annotations

import difflib
import functools
import json
import math
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import botocore.session
from constructs import Node

from functions.common.contract import Settings as HandlerSettings
from infra import training_image

PREFIX = "driftgate:"
# Settings the handlers also read: one default, the handlers' (functions/common/contract.py).
_HANDLER_DEFAULTS = HandlerSettings.defaults()
# Settings that no longer exist, with what replaced them: set, they fail the synth rather than
# being ignored (a retention someone chose must not silently become another).
RETIRED = {"raw_retention_days": "raw_text_retention_days"}
MAX_CANARY_LOOKS = 2000  # a canary's loop within Step Functions' 25,000 history events per execution


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Every setting a user may change; each maps to the context key ``driftgate:<name>``."""

    base_model_id: str = "Qwen/Qwen2.5-0.5B-Instruct"
    monitored_models: tuple[str, ...] = ("support-bot",)
    drift_alpha: float = _HANDLER_DEFAULTS["drift_alpha"]
    quality_decay_threshold: float = _HANDLER_DEFAULTS["quality_decay_threshold"]
    min_window_samples: int = _HANDLER_DEFAULTS["min_window_samples"]
    window_hours: int = _HANDLER_DEFAULTS["window_hours"]
    drift_schedule: str = "rate(1 hour)"
    cooldown_hours: int = _HANDLER_DEFAULTS["cooldown_hours"]
    approval_mode: Literal["auto", "manual"] = "auto"
    # "canary": a version that passes the offline gate becomes staging, serves canary_share of units,
    # and the online test promotes or retires it (docs/canary.md); "direct": promoted after the gate.
    rollout: Literal["canary", "direct"] = "canary"
    canary_share: float = _HANDLER_DEFAULTS["canary_share"]
    canary_wait_seconds: int = 900  # between two looks (the state machine's Wait)
    canary_alpha: float = _HANDLER_DEFAULTS["canary_alpha"]
    canary_min_effect: float = _HANDLER_DEFAULTS["canary_min_effect"]
    canary_min_samples: int = _HANDLER_DEFAULTS["canary_min_samples"]  # per arm, before any decision
    canary_max_samples: int = _HANDLER_DEFAULTS["canary_max_samples"]  # both arms: inconclusive at this
    canary_max_hours: float = _HANDLER_DEFAULTS["canary_max_hours"]  # inconclusive after this
    training_instance_type: str = "ml.g5.xlarge"
    # Empty: the training DLC of the deploy region (infra/training_image.py). An ECR URI of your own
    # replaces it; finetune/requirements.txt pins torch to that DLC's, so pip would swap in the
    # pinned torch on an image that holds another: change both together.
    training_image_uri: str = ""
    training_hyperparameters: dict[str, str] = field(default_factory=lambda: {
        "num_train_epochs": "2", "learning_rate": "2e-4", "lora_r": "16", "lora_alpha": "32",
        "per_device_train_batch_size": "8", "max_length": "1024", "bf16": "true"})
    evaluation_hyperparameters: dict[str, str] = field(default_factory=lambda: {
        "max_new_tokens": "256", "batch_size": "8"})
    gate: dict[str, float | str] = field(default_factory=lambda: {
        "min_gain": 0.0, "golden_loss_margin": 0.05, "refusal_margin": 0.02, "pii_margin": 0.0})
    # When the scheduled check retrains (functions/monitor/policy.py): "threshold" (drift or ΔM breach),
    # "periodic" (every retrain_every_days, whatever the drift) or "both". Cooldown and single-flight hold for all.
    retrain_policy: Literal["threshold", "periodic", "both"] = _HANDLER_DEFAULTS["retrain_policy"]
    retrain_every_days: int = _HANDLER_DEFAULTS["retrain_every_days"]
    # Continual learning: the challenger's LoRA starts from the production adapter (when there is one)
    # and trains on the new data plus replay_fraction of replayed baseline records (README, "Warm start").
    warm_start: bool = False
    replay_fraction: float = _HANDLER_DEFAULTS["replay_fraction"]
    min_training_quality: float = _HANDLER_DEFAULTS["min_training_quality"]
    use_spot_training: bool = True
    min_training_records: int = _HANDLER_DEFAULTS["min_training_records"]
    dataset_window_days: int = _HANDLER_DEFAULTS["dataset_window_days"]  # how far back PrepareDataset reads
    reservoir_size: int = _HANDLER_DEFAULTS["reservoir_size"]  # sampled interactions per window
    # Partitions per model window for ingest's aggregates and sample; raise it only (see the README).
    ingest_shards: int = _HANDLER_DEFAULTS["ingest_shards"]
    # Days the raw interactions (their prompts, outputs and references: the raw/ objects) are kept; at
    # least dataset_window_days and the drift window, which read them. Scores, flags, metadata and
    # window aggregates are kept without it (README, "Data minimisation").
    raw_text_retention_days: int = 45
    api_rate_limit: int = 50
    api_burst_limit: int = 100
    notification_email: str = ""
    enable_waf: bool = True
    # API Gateway's CloudWatch logging role is one per account and region, shared by every REST API
    # there. "create": this stack creates it and points the account setting at it (what a new
    # account needs: the stage's logging fails to deploy without one). "existing": the account
    # already has one (another stack or an account baseline owns it) and it is left alone.
    api_gateway_account_logging_role: Literal["create", "existing"] = "create"

    def __post_init__(self) -> None:
        if self.training_instance_type not in training_instance_types():
            close = difflib.get_close_matches(self.training_instance_type, training_instance_types(), n=3)
            raise ValueError(f"driftgate:training_instance_type {self.training_instance_type!r} is not an instance "
                             "type SageMaker training accepts (botocore's CreateTrainingJob model)"
                             + (f"; did you mean {', '.join(close)}?" if close else ""))
        if self.training_image_uri:
            training_image.custom_image(self.training_image_uri)  # raises on anything but an ECR image URI
        if self.approval_mode not in ("auto", "manual"):
            raise ValueError(f"driftgate:approval_mode must be 'auto' or 'manual', got {self.approval_mode!r}")
        if self.api_gateway_account_logging_role not in ("create", "existing"):
            raise ValueError("driftgate:api_gateway_account_logging_role must be 'create' or 'existing', "
                             f"got {self.api_gateway_account_logging_role!r}")
        if not 0 < self.drift_alpha < 1:
            raise ValueError(f"driftgate:drift_alpha must be in (0, 1), got {self.drift_alpha}")
        if self.min_window_samples < 2 or self.window_hours < 1 or self.cooldown_hours < 0:
            raise ValueError("driftgate:min_window_samples >= 2, window_hours >= 1, cooldown_hours >= 0")
        if self.dataset_window_days < 1:
            raise ValueError(f"driftgate:dataset_window_days must be >= 1, got {self.dataset_window_days}")
        self._check_text_retention()
        if not 1 <= self.ingest_shards <= 64:
            raise ValueError(f"driftgate:ingest_shards must be in 1..64, got {self.ingest_shards}")
        self._check_retraining()
        self._check_canary()

    def _check_retraining(self) -> None:
        if self.retrain_policy not in ("threshold", "periodic", "both"):
            raise ValueError("driftgate:retrain_policy must be 'threshold', 'periodic' or 'both', "
                             f"got {self.retrain_policy!r}")
        # A day at least (the check runs hourly by default); a year at most, beyond which a model
        # is better retrained on a breach alone.
        if not 1 <= self.retrain_every_days <= 365:
            raise ValueError(f"driftgate:retrain_every_days must be in 1..365, got {self.retrain_every_days}")
        # At 0.9 the new data would be a tenth of the set: more replay stops being continual learning.
        if not 0 <= self.replay_fraction <= 0.9:
            raise ValueError(f"driftgate:replay_fraction must be in [0, 0.9], got {self.replay_fraction}")

    def _check_canary(self) -> None:
        if self.rollout not in ("canary", "direct"):
            raise ValueError(f"driftgate:rollout must be 'canary' or 'direct', got {self.rollout!r}")
        if not 0 < self.canary_share < 1:
            raise ValueError(f"driftgate:canary_share must be in (0, 1), got {self.canary_share}")
        if not 0 < self.canary_alpha < 1 or self.canary_min_effect < 0:
            raise ValueError("driftgate:canary_alpha must be in (0, 1) and canary_min_effect >= 0")
        if self.canary_min_samples < 2 or self.canary_max_samples < 2 * self.canary_min_samples:
            raise ValueError("driftgate:canary_min_samples >= 2 and canary_max_samples >= 2 x canary_min_samples")
        if self.canary_wait_seconds < 1 or self.canary_max_hours <= 0:
            raise ValueError("driftgate:canary_wait_seconds >= 1 and canary_max_hours > 0")
        # Each look adds about 10 events to the execution's history, which Step Functions caps at 25,000.
        looks = self.canary_max_hours * 3600 / self.canary_wait_seconds
        if self.rollout == "canary" and looks > MAX_CANARY_LOOKS:
            raise ValueError(f"driftgate:canary_max_hours {self.canary_max_hours:g} at canary_wait_seconds "
                             f"{self.canary_wait_seconds} is {looks:.0f} looks, more than the {MAX_CANARY_LOOKS} "
                             "an execution's history holds: wait longer between looks")

    def _check_text_retention(self) -> None:
        # PrepareDataset reads the newest dataset_window_days of raw objects, and the drift check a
        # window's sample while the window is the newest: each must still find its texts. S3 counts
        # an expiration from the object's creation, rounded up to the next midnight UTC.
        needed = max(self.dataset_window_days, math.ceil(self.window_hours / 24))
        if self.raw_text_retention_days < needed:
            raise ValueError(f"driftgate:raw_text_retention_days must be at least dataset_window_days "
                             f"({self.dataset_window_days}) and the drift window in days (window_hours "
                             f"{self.window_hours} → {math.ceil(self.window_hours / 24)}): the dataset and the drift "
                             f"check read those texts; got {self.raw_text_retention_days}")

    @classmethod
    def from_node(cls, node: Node) -> Settings:
        """Read each field from context; ``-c`` values arrive as strings, so they are coerced."""
        for old, new in RETIRED.items():
            if node.try_get_context(PREFIX + old) is not None:
                raise ValueError(f"{PREFIX}{old} is retired: set {PREFIX}{new} instead (README, settings)")
        values: dict[str, Any] = {}
        for setting in fields(cls):
            raw = node.try_get_context(PREFIX + setting.name)
            if raw is None:
                continue
            default = setting.default_factory() if callable(setting.default_factory) else setting.default
            values[setting.name] = _coerce(raw, default)
        return cls(**values)


@functools.cache
def training_instance_types() -> tuple[str, ...]:
    """``ResourceConfig.InstanceType``'s enum in botocore's model of the SageMaker API."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    return tuple(model.shape_for("TrainingInstanceType").enum)


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
