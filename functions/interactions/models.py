"""What the interactions domain takes and answers: records, feedback, window quality, erasure
(pydantic v2). The API validates its bodies with these and answers with them (functions/api)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from functions.interactions.storable import (
    MAX_CORRECTION,
    MAX_STORED_INT,
    MetadataValue,
    Timestamp,
)

MAX_BATCH = 100
ModelName = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:/-]+$")]
RequestId = Annotated[StrictStr, Field(min_length=1, max_length=256)]
# The metadata key that names the end user of an interaction: what POST /v1/erasures erases by.
USER_ID_KEY = "user_id"
# Bounded (a DynamoDB index key) and not blank; metadata may give it as an integer too.
UserId = Annotated[StrictStr, Field(min_length=1, max_length=256, pattern=r"\S",
                                    description="the end user's id, as sent in metadata.user_id")]
_user_id = TypeAdapter(UserId | StrictInt)


class Strict(BaseModel):
    # Unknown fields are refused: a typo in a field name should not silently drop data.
    model_config = ConfigDict(extra="forbid")


class InteractionIn(Strict):
    request_id: RequestId
    model: ModelName
    adapter_version: StrictInt | None = Field(default=None, ge=0, le=MAX_STORED_INT)
    prompt: StrictStr
    output: StrictStr
    reference: StrictStr | None = None
    expected_format: Literal["json"] | None = None
    metadata: dict[Annotated[str, Field(max_length=128)], MetadataValue] | None = Field(
        default=None, max_length=50, description=f"scalars; metadata.{USER_ID_KEY} names the end user (for erasure)")
    timestamp: Timestamp | None = None

    @field_validator("metadata")
    @classmethod
    def _user_id_is_a_key(cls, metadata: dict[str, MetadataValue] | None) -> dict[str, MetadataValue] | None:
        if metadata and USER_ID_KEY in metadata:
            try:
                _user_id.validate_python(metadata[USER_ID_KEY])
            except ValidationError:
                raise ValueError(f"metadata.{USER_ID_KEY} must be an integer or a non-blank string of at most "
                                 f"256 characters") from None
        return metadata


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
    correction: StrictStr | None = Field(default=None, max_length=MAX_CORRECTION,
                                         description="a better output; becomes training data")


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


class ErasureIn(Strict):
    user_id: UserId


class ErasureReceipt(BaseModel):
    """What one erasure removed; a repeated erasure of the same user returns zeros."""

    user_id: str
    erased_at: str
    interactions_erased: int = Field(description="interaction items replaced by tombstones")
    feedback_erased: int = Field(description="of those, items that carried feedback (comment, correction)")
    raw_lines_removed: int
    raw_objects_rewritten: int
    raw_objects_deleted: int = Field(description="raw objects that held only this user's records")
    reservoir_samples_removed: int
    drift_examples_removed: int
    baseline_vectors_cleared: int = Field(description="models whose stored baseline embeddings were deleted")
    baseline_texts_removed: int = Field(description="lines of the frozen baselines' copies of their samples' texts")
    golden_rows_removed: int = Field(description="rows of the frozen golden sets (evaluation data)")
    old_versions_deleted: int = Field(description="older versions of rewritten golden objects (versioned bucket)")
