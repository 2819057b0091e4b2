"""The measured inputs of the cost model: what one unit of each phase (an ingested interaction,
a drift check of one model, a retrain) used of each priced meter on the local stack, as
``benchmarks/bench_cost.py`` records it."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from driftgate.cost.files import load_json

DEFAULT_MEASUREMENTS = Path(__file__).resolve().parent / "measured" / "demo.json"
PHASES = ("ingest", "drift_check", "retrain")
UsageKey = Literal["api_requests", "dynamodb_wru", "dynamodb_rru", "s3_put_requests", "s3_get_requests",
                   "kms_requests", "log_bytes", "state_transitions"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FunctionConfig(_Strict):
    memory_mb: int = Field(ge=128, le=10240)
    architecture: Literal["x86_64", "arm64"]


class SageMakerJob(_Strict):
    job: str
    program: str
    instance_type: str
    local_seconds: float = Field(ge=0)


class Phase(_Strict):
    units: int = Field(gt=0, description="how many units the figures below are for")
    unit: str
    invocations: dict[str, int] = {}
    lambda_seconds: dict[str, float] = {}
    usage: dict[UsageKey, float] = {}
    wall_s: float | None = None
    sagemaker_jobs: list[SageMakerJob] = []
    training_samples: int | None = None
    epochs: float | None = None

    @model_validator(mode="after")
    def _non_negative(self) -> Phase:
        for name, values in (("invocations", self.invocations), ("lambda_seconds", self.lambda_seconds),
                             ("usage", self.usage)):
            if negative := [key for key, value in values.items() if value < 0]:
                raise ValueError(f"{name}.{negative[0]} is negative")
        return self


class Storage(_Strict):
    interactions: int = Field(gt=0)
    s3_bytes_per_interaction: float = Field(ge=0)
    dynamodb_bytes_per_interaction: float = Field(ge=0)
    artifact_bytes_per_retrain: float = Field(ge=0)
    retention_days: int = Field(gt=0, description="the raw bucket's expiry (driftgate:raw_retention_days)")
    ia_after_days: int | None = Field(None, ge=0, description="raw objects move to Standard-IA after this")
    # None: the items never expire (no handler sets the tables' TTL attribute); priced over a horizon.
    dynamodb_retention_days: int | None = Field(None, gt=0)
    log_retention_days: int = Field(gt=0)


class Fixed(_Strict):
    custom_metrics: int = Field(ge=0)
    kms_keys: int = Field(ge=0)
    waf_web_acls: int = Field(ge=0)
    waf_rules: int = Field(ge=0)
    secrets: int = Field(ge=0)
    drift_schedule: str
    checks_per_day: float = Field(gt=0, description="per monitored model")


class Assumptions(_Strict):
    sagemaker_instance_seconds_per_local_second: float = Field(gt=0)
    lambda_platform_log_bytes_per_invocation: float = Field(ge=0)
    note: str


class Measurements(_Strict):
    schema_: Literal[1] = Field(alias="schema")
    measured_on: str
    commit: str
    workload: str
    machine: str
    functions: dict[str, FunctionConfig]
    phases: dict[Literal["ingest", "drift_check", "retrain"], Phase]
    storage: Storage
    fixed: Fixed
    assumptions: Assumptions

    @model_validator(mode="after")
    def _consistent(self) -> Measurements:
        if missing := [p for p in PHASES if p not in self.phases]:
            raise ValueError(f"phases.{missing[0]} is missing")
        for name, phase in self.phases.items():
            if unknown := sorted(set(phase.lambda_seconds) - set(self.functions)):
                raise ValueError(f"phases.{name}.lambda_seconds.{unknown[0]}: no such function in 'functions'")
        return self


def load_measurements(path: Path) -> Measurements:
    return load_json(path, Measurements, "--measurements")
