"""Request and response bodies of the public API (pydantic v2; Powertools validates both ways).

The domains own their models (``functions/interactions/models.py``, ``functions/registry/models.py``,
``functions/drift/report.py``); this module names the API's whole vocabulary in one place and
adds the few bodies only the API has."""
from __future__ import annotations

from pydantic import BaseModel, Field, StrictBool, StrictStr

from functions.drift.report import DriftReport
from functions.drift.report import Field as CheckedField
from functions.interactions.explanation_models import Explanation
from functions.interactions.models import (
    ErasureIn,
    ErasureReceipt,
    FeedbackIn,
    FeedbackOut,
    IngestRequest,
    IngestResponse,
    InteractionIn,
    QualityOut,
    RecordResult,
    Strict,
    WindowStats,
)
from functions.registry.models import (
    AdapterAlias,
    AdapterList,
    AdapterVersion,
    AliasMove,
    CanaryView,
    ProductionAdapter,
    RetrainStarted,
    ServingAdapter,
)

__all__ = [
    "AdapterAlias", "AdapterList", "AdapterVersion", "AliasMove", "ApprovalIn", "CanaryView", "DriftReports",
    "ErasureIn", "Explanation",
    "ErasureReceipt", "FeedbackIn", "FeedbackOut", "Health", "IngestRequest", "IngestResponse", "InteractionIn",
    "ProductionAdapter", "QualityOut", "RecordResult", "RetrainStarted", "ServingAdapter", "StoredDriftReport",
    "WindowStats",
]


class Health(BaseModel):
    status: str
    service: str


class ApprovalIn(Strict):
    approve: StrictBool
    comment: StrictStr | None = Field(default=None, max_length=4000)


class StoredDriftReport(DriftReport):
    """One field's latest drift report, as the scheduled check stored it (``DriftReport.model_dump``)
    with the window it checked."""

    window: str = Field(description="start of the window checked against the baseline (ISO 8601)")
    checked_at: str


class DriftReports(BaseModel):
    """The newest drift report of each field the scheduled check compares with the baseline."""

    model: str
    reports: dict[CheckedField, StoredDriftReport] = Field(description="by field checked")
