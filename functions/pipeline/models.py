"""The payloads the retrain state machine passes between its tasks."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class PipelineInput(BaseModel):
    """What starts a run: from the drift check, the API's manual retrain, or the console."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:/-]+$")
    reason: str = "manual"


class FailureInput(BaseModel):
    execution_arn: str
    input: dict[str, Any] = Field(default_factory=dict)
    error: dict[str, Any] = Field(default_factory=dict)
