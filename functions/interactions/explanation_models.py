"""The answer of ``GET /v1/interactions/{request_id}/explanation`` (pydantic v2): how one
interaction's quality was computed, which drift samples it is in, and which training sets and
adapter versions used it. It names no text and no user: what it explains is the processing."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from functions.scoring.pack import QualityBreakdown

Split = Literal["train", "eval", "golden"]


class QualityExplanation(BaseModel):
    quality: float = Field(description="the quality stored at ingest, in [0, 1]")
    flags: list[str] = Field(description="the flags stored at ingest")
    recomputed: bool = Field(description="whether the breakdown was recomputed from the stored texts with the "
                                         "scorer pack; false once the raw texts are no longer kept")
    matches_stored: bool | None = Field(
        default=None, description="whether the recomputed quality equals the stored one (false: the scorer changed)")
    breakdown: QualityBreakdown | None = Field(
        default=None, description="quality = clip(sum of weight x value over terms x product of the applied "
                                  "penalty factors, 0, 1)")
    metrics: dict[str, float] = Field(description="every metric stored at ingest, by name")
    feedback_score: float | None = Field(default=None, description="the feedback joined to it, in [0, 1]")


class DriftCheckSeen(BaseModel):
    field: str = Field(description="prompt or output")
    checked_at: str
    drift: bool | None = Field(default=None, description="the check's decision for its window")


class Sampling(BaseModel):
    window: str = Field(description="start of its aggregation window (ISO 8601)")
    window_hours: int
    shard: int = Field(description="the ingest shard its request id hashes to")
    shards: int
    rank: int = Field(description="its bottom-k rank: a 64-bit hash of the request id")
    rank_fraction: float = Field(description="rank / 2^64: a window's sample keeps its smallest ranks")
    in_window_sample: bool = Field(description="whether its window's drift sample holds it now")
    sample_position: int | None = Field(default=None, description="1 = smallest rank of the sample")
    sample_size: int
    sample_capacity: int
    drift_checks: list[DriftCheckSeen] = Field(description="the stored drift checks of its window")
    baseline_window: str | None = Field(default=None, description="the model's frozen baseline window, if any")
    in_baseline_sample: bool = Field(description="whether the frozen baseline's sample snapshot holds it")


class TrainingSetUse(BaseModel):
    run_id: str = Field(description="the retrain run (execution name) whose PrepareDataset built the set")
    splits: list[Split]
    manifest_uri: str
    version: int | None = Field(default=None, description="the adapter version the run registered, if any")
    gate_decision: str | None = None
    in_production: bool = Field(description="whether that version serves as production now")


class Explanation(BaseModel):
    request_id: str
    model: str
    adapter_version: int | None = Field(default=None, description="the adapter that served it, as reported")
    event_time: str
    summary: str = Field(description="all of the below, in plain language")
    quality: QualityExplanation
    sampling: Sampling
    training: list[TrainingSetUse] = Field(description="the training sets that used it, oldest run first")
