"""The contract between the stack and the handlers, in one dependency-free module (the standard
library and our exceptions only).

- ``Settings``: every environment variable a handler reads, with its name, type and default.
  ``infra/`` builds each function's environment with ``Settings.environment(...)``, which refuses
  a name that is not a setting (a typo fails the synth instead of falling back to a default),
  and handlers read ``settings.<name>`` when they need it (never at import: tests and the local
  mode set the environment after modules load).
- ``Metric``: the names of the metrics handlers emit and the alarms and dashboard watch.
- Key builders of the state table (pk ``MODEL#<model>``, one sk shape per kind of item).
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload
from urllib.parse import quote

from functions.common.exceptions import ConfigurationError

T = TypeVar("T")


class MissingSetting(ConfigurationError):
    """A setting without a default that the function's environment does not set."""

    def __init__(self, variable: str) -> None:
        super().__init__(f"environment variable {variable} is not set")
        self.variable = variable


_REQUIRED: Any = object()


@dataclass(frozen=True)
class Variable(Generic[T]):
    """One environment variable: read and parsed at each access of ``settings.<name>``."""

    name: str
    parse: Callable[[str], T]
    default: T = _REQUIRED
    format: Callable[[Any], str] = str

    @overload
    def __get__(self, obj: None, owner: type) -> Variable[T]: ...
    @overload
    def __get__(self, obj: object, owner: type) -> T: ...

    def __get__(self, obj: object | None, owner: type) -> T | Variable[T]:
        if obj is None:
            return self
        raw = os.environ.get(self.name)
        if raw is None:
            if self.default is _REQUIRED:
                raise MissingSetting(self.name)
            return self.default
        return self.parse(raw)


def _names(raw: str) -> tuple[str, ...]:
    return tuple(name for name in raw.split(",") if name)


class Settings:
    """What a handler may read from its environment (attribute → variable)."""

    interactions_table = Variable("INTERACTIONS_TABLE", str)
    interactions_user_index = Variable("INTERACTIONS_USER_INDEX", str)
    interactions_sample_index = Variable("INTERACTIONS_SAMPLE_INDEX", str)
    state_table = Variable("STATE_TABLE", str)
    raw_bucket = Variable("RAW_BUCKET", str)
    artifacts_bucket = Variable("ARTIFACTS_BUCKET", str)
    state_machine_arn = Variable("STATE_MACHINE_ARN", str)
    window_hours = Variable("WINDOW_HOURS", int, 24)
    reservoir_size = Variable("RESERVOIR_SIZE", int, 200)
    # Each model window's aggregate and sample spread over this many partitions
    # (functions/interactions/shards.py). Raise it only: readers look at shards 0..N-1.
    ingest_shards = Variable("INGEST_SHARDS", int, 8)
    min_window_samples = Variable("MIN_WINDOW_SAMPLES", int, 50)
    quality_decay_threshold = Variable("QUALITY_DECAY_THRESHOLD", float, 0.1)
    drift_alpha = Variable("DRIFT_ALPHA", float, 0.05)
    cooldown_hours = Variable("COOLDOWN_HOURS", int, 24)
    min_training_records = Variable("MIN_TRAINING_RECORDS", int, 200)
    min_training_quality = Variable("MIN_TRAINING_QUALITY", float, 0.5)
    # How far back a dataset reaches: the date partitions of the newest N days a model has stored.
    dataset_window_days = Variable("DATASET_WINDOW_DAYS", int, 30)
    gate_config: Variable[dict[str, Any]] = Variable("GATE_CONFIG", json.loads, {}, json.dumps)
    monitored_models: Variable[tuple[str, ...]] = Variable("MONITORED_MODELS", _names, (), ",".join)
    approval_mode = Variable("APPROVAL_MODE", str, "auto")
    # Where the drift check caches embeddings ("": no cache); /tmp in Lambda, so a warm container
    # reuses the baseline's vectors.
    embedding_cache_dir = Variable("EMBEDDING_CACHE_DIR", str, "")
    # The drift check's exported ONNX embedding model (functions/drift/onnx_embedder.py): the model
    # layer's folder in Lambda, the export cache in the local mode.
    embedding_model_dir = Variable("EMBEDDING_MODEL_DIR", str)
    # The one-model drift check the scheduled dispatcher invokes asynchronously, once per model.
    drift_check_function = Variable("DRIFT_CHECK_FUNCTION", str)
    # The canary's sequential test (functions/canary/): its false-decision rate, the smallest quality
    # gain worth promoting, the per-arm minimum before any decision, and the limits that end it
    # inconclusive (interactions of both arms; hours).
    canary_alpha = Variable("CANARY_ALPHA", float, 0.05)
    canary_min_effect = Variable("CANARY_MIN_EFFECT", float, 0.01)
    canary_min_samples = Variable("CANARY_MIN_SAMPLES", int, 30)
    canary_max_samples = Variable("CANARY_MAX_SAMPLES", int, 10000)
    canary_max_hours = Variable("CANARY_MAX_HOURS", float, 168.0)
    # The share of units (users, sessions) the staging adapter serves while its canary runs.
    canary_share = Variable("CANARY_SHARE", float, 0.1)
    # When the scheduled check starts a retrain (functions/monitor/policy.py): "threshold" (a breach),
    # "periodic" (every RETRAIN_EVERY_DAYS, whatever the drift) or "both".
    retrain_policy = Variable("RETRAIN_POLICY", str, "threshold")
    retrain_every_days = Variable("RETRAIN_EVERY_DAYS", int, 7)
    # The share of a training set that PrepareDataset fills with replayed baseline records
    # (functions/dataset/replay.py); the stack sets 0 unless warm start is on.
    replay_fraction = Variable("REPLAY_FRACTION", float, 0.2)
    # The Secrets Manager secret (ARN) whose value keys the HMAC of end-user ids
    # (functions/interactions/pseudonyms.py); only the API function is given it.
    user_id_key_secret = Variable("USER_ID_KEY_SECRET", str)

    @classmethod
    def variables(cls) -> dict[str, Variable[Any]]:
        return {name: value for name, value in vars(cls).items() if isinstance(value, Variable)}

    @classmethod
    def environment(cls, **values: Any) -> dict[str, str]:
        """Environment variables setting ``values`` (attribute names of this class); for ``infra/``."""
        variables = cls.variables()
        unknown = sorted(set(values) - set(variables))
        if unknown:
            raise TypeError(f"not handler settings: {', '.join(unknown)} (see functions/common/contract.py)")
        return {variables[name].name: variables[name].format(value) for name, value in values.items()}

    @classmethod
    def defaults(cls) -> Mapping[str, Any]:
        return {name: v.default for name, v in cls.variables().items() if v.default is not _REQUIRED}


settings = Settings()


class Metric:
    """Metric names (namespace ``METRICS_NAMESPACE``): emitted by handlers, watched by alarms."""

    INTERACTIONS_ACCEPTED = "InteractionsAccepted"
    INTERACTIONS_DUPLICATE = "InteractionsDuplicate"
    FEEDBACK = "Feedback"
    INTERACTIONS_ERASED = "InteractionsErased"
    QUALITY = "Quality"
    QUALITY_DELTA = "QualityDelta"
    DRIFT_P_VALUE = "DriftPValue"
    PIPELINE_RUNS = "PipelineRuns"
    GATE_PROMOTE = "GatePromote"
    GATE_REJECT = "GateReject"
    # Each canary look (CheckCanary), per model: the always-valid p-value, the effect (staging −
    # production mean quality), each arm's size (dimension ``arm``); and each final decision.
    CANARY_P_VALUE = "CanaryPValue"
    CANARY_EFFECT = "CanaryEffect"
    CANARY_ARM_SIZE = "CanaryArmSize"
    CANARY_DECISIONS = "CanaryDecisions"


METRICS_NAMESPACE = "Driftgate"
SERVICE_NAME = "driftgate"

# -- the state table's keys -----------------------------------------------------------------
BASELINE_SK = "BASELINE"
BASELINE_RESERVOIR_SK = "BASELINE_RESERVOIR"
TRIGGER_SK = "TRIGGER"
WINDOW_PREFIX = "WINDOW#"
DRIFT_PREFIX = "DRIFT#"
RUN_PREFIX = "RUN#"
VERSION_PREFIX = "VERSION#"
ALIAS_PREFIX = "ALIAS#"
# One item per model with a frozen baseline, under one partition: the scheduled check lists the
# models to check with a Query of it, not a scan of the table.
BASELINE_INDEX_PK = "BASELINES"
# Where the drift check keeps a baseline sample's embeddings (S3, raw bucket), one object per field.
BASELINE_EMBEDDINGS_PREFIX = "baselines/"
DRIFT_FIELDS = ("prompt", "output")  # the texts the drift check embeds (functions.monitor.checks.FIELDS)


SHARD_PREFIX = "SHARD#"
# Per adapter version, per shard: what the interactions served by that version summed to (the
# canary's arms). ``adapter_version`` 0 is the base model, no adapter (what serves before version 1).
SERVED_PREFIX = "SERVED#"
BASE_MODEL_VERSION = 0
# One canary per staged version, and one item per look at it.
CANARY_PREFIX = "CANARY#"
LOOK_PREFIX = "LOOK#"


def model_pk(model: str) -> str:
    return f"MODEL#{model}"


def shard_pk(model: str, shard: int) -> str:
    # The shard number first: a model name may hold "#", so "MODEL#a#SHARD#1" could be a model's own key.
    return f"{SHARD_PREFIX}{shard}#{model_pk(model)}"


def sample_partition(model: str, window_start: str, shard: int) -> str:
    """The interactions table's sample index key of one window shard (the model last: it may hold "#")."""
    return f"{SHARD_PREFIX}{shard}#{WINDOW_PREFIX}{window_start}#{model_pk(model)}"


def baseline_index_sk(model: str) -> str:
    return model_pk(model)


def baseline_embeddings_key(model: str, field: str) -> str:
    # Quoted: model names may hold "/" (one path segment per model, none shared).
    return f"{BASELINE_EMBEDDINGS_PREFIX}{quote(model, safe='')}/{field}.npy"


def baseline_records_key(model: str) -> str:
    """The frozen baseline sample's raw lines (texts the drift check compares against), copied out
    of ``raw/`` so they outlive its text retention; beside the baseline's embeddings."""
    return f"{BASELINE_EMBEDDINGS_PREFIX}{quote(model, safe='')}/records.jsonl"


def window_sk(start: str) -> str:
    return f"{WINDOW_PREFIX}{start}"


def served_sk(version: int) -> str:
    return f"{SERVED_PREFIX}{version:06d}"


def canary_sk(version: int) -> str:
    return f"{CANARY_PREFIX}{version:06d}"


def look_sk(version: int, look: int) -> str:
    return f"{LOOK_PREFIX}{version:06d}#{look:06d}"


def drift_sk(window_start: str, field: str) -> str:
    return f"{DRIFT_PREFIX}{window_start}#{field}"


def run_sk(recorded_at: str, execution_name: str) -> str:
    return f"{RUN_PREFIX}{recorded_at}#{execution_name}"


def version_sk(version: int) -> str:
    return f"{VERSION_PREFIX}{version:06d}"


def alias_sk(alias: str) -> str:
    return f"{ALIAS_PREFIX}{alias}"


def alias_history_prefix(alias: str) -> str:
    return f"{ALIAS_PREFIX}{alias}#REV#"


def alias_history_sk(alias: str, revision: int) -> str:
    return f"{alias_history_prefix(alias)}{revision:06d}"
