"""Request and response bodies of the public API (pydantic v2; Powertools validates them)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

MAX_BATCH = 100
ModelName = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:/-]+$")]
RequestId = Annotated[StrictStr, Field(min_length=1, max_length=256)]
MetadataValue = StrictStr | StrictBool | StrictInt | StrictFloat


class Strict(BaseModel):
    # Unknown fields are refused: a typo in a field name should not silently drop data.
    model_config = ConfigDict(extra="forbid")


class InteractionIn(Strict):
    request_id: RequestId
    model: ModelName
    adapter_version: StrictInt | None = Field(default=None, ge=0)
    prompt: StrictStr
    output: StrictStr
    reference: StrictStr | None = None
    expected_format: Literal["json"] | None = None
    metadata: dict[Annotated[str, Field(max_length=128)], MetadataValue] | None = Field(default=None, max_length=50)
    timestamp: AwareDatetime | None = None


class IngestRequest(Strict):
    interactions: list[InteractionIn] = Field(min_length=1, max_length=MAX_BATCH)


class RecordResult(BaseModel):
    request_id: str
    status: Literal["accepted", "duplicate"]
    exact_match: int | None = None
    token_f1: float | None = None
    rouge_l: float | None = None
    quality: float | None = None
    flags: list[str] = Field(default_factory=list)


class IngestResponse(BaseModel):
    accepted: int
    duplicates: int
    results: list[RecordResult]


class FeedbackIn(Strict):
    request_id: RequestId
    rating: StrictInt = Field(ge=-1, le=5, description="-1 or 1 (thumbs), or 1..5 (stars, with scale='stars')")
    scale: Literal["thumbs", "stars"] | None = Field(
        default=None, description="defaults to 'thumbs' for -1/1 and 'stars' for 2..5")
    comment: StrictStr | None = Field(default=None, max_length=4000)
    correction: StrictStr | None = Field(default=None, description="a better output; becomes training data")


class FeedbackOut(BaseModel):
    request_id: str
    model: str
    feedback_score: float
    first_feedback: bool


class WindowStats(BaseModel):
    start: str
    n: int
    mean_quality: float | None
    exact_match_rate: float | None
    n_with_reference: int
    flag_rates: dict[str, float]
    feedback_n: int
    mean_feedback: float | None


class QualityOut(BaseModel):
    model: str
    window_hours: int
    current: WindowStats | None
    baseline: WindowStats | None
    baseline_adapter_version: int | None = None
    delta: float | None = Field(default=None, description="baseline mean quality minus current mean quality")


class ApprovalIn(Strict):
    approve: StrictBool
    comment: StrictStr | None = Field(default=None, max_length=4000)
