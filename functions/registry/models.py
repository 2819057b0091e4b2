"""The registry's records as callers see them (pydantic v2): adapter versions, the aliases that
point at them, and the history of each alias's moves (``store.py`` writes them).

Items read back from the state table keep every key they were written with (``extra="allow"``):
a version is an open record of what its run registered, and the keys a run may leave out are
absent from the answer, not null (``NotRequired``)."""
from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from pydantic import BaseModel, ConfigDict, Field, with_config
from typing_extensions import TypedDict  # pydantic needs typing_extensions' TypedDict before 3.12

Approval = Literal["pending", "approved", "rejected", "not-applicable"]
Stored = ConfigDict(extra="allow")


@with_config(Stored)
class AdapterVersion(TypedDict):
    """One immutable adapter version, as registered (plus its approval, once decided)."""

    # In the order Register writes them, which is the order the item reads back in.
    s3_uri: Annotated[str, Field(description="the adapter archive (SageMaker model.tar.gz)")]
    sha256: Annotated[str, Field(description="sha256 of the adapter weights, checked at registration")]
    base_model: NotRequired[str | None]
    training: NotRequired[Annotated[dict[str, Any], Field(
        description="from the training manifest: hyperparameters, seed, loss, dataset, versions, global_step")]]
    dataset: NotRequired[Annotated[dict[str, Any], Field(description="the dataset manifest the run trained on")]]
    execution_arn: NotRequired[Annotated[str, Field(description="the retrain run that registered it")]]
    gate: NotRequired[Annotated[dict[str, Any], Field(description="the evaluation gate's decision and numbers")]]
    approval: NotRequired[Annotated[Approval, Field(description="pending while a manual approval waits")]]
    model: str
    version: Annotated[int, Field(ge=1)]
    created_at: str
    approved_by: NotRequired[str]
    approved_at: NotRequired[str]
    canary: NotRequired[Annotated[dict[str, Any], Field(
        description="its canary (rollout=canary): canary_id, status, and the latest decision with every number")]]


class AdapterAlias(BaseModel):
    """Where an alias points now; ``revision`` counts its moves."""

    model_config = Stored

    alias: Literal["production", "staging"]
    model: str
    version: int
    revision: int
    updated_at: str
    s3_uri: str
    sha256: str


class AliasMove(BaseModel):
    """One entry of an alias's history: a promotion or a rollback."""

    model_config = Stored

    alias: Literal["production", "staging"]
    revision: int
    from_version: int | None = Field(description="null for the alias's first move")
    to_version: int | None = Field(description="null when the alias was cleared (a staging version retired)")
    at: str
    actor: str = Field(description="who moved it: the caller's identity or the pipeline")
    reason: str = Field(description="promote, rollback, ...")


class AdapterList(BaseModel):
    """Every version of a model's adapters, the production alias and its full history."""

    model: str
    production: AdapterAlias | None
    versions: list[AdapterVersion]
    history: list[AliasMove]


class ProductionAdapter(BaseModel):
    """What apps load: the adapter in production."""

    model: str
    version: int
    s3_uri: str = Field(description="the adapter archive (SageMaker model.tar.gz)")
    sha256: str
    revision: int
    updated_at: str


class RetrainStarted(BaseModel):
    model: str
    execution_arn: str = Field(description="the Step Functions execution of the retrain run")


class ServingAdapter(BaseModel):
    """Which adapter serves one unit (a user or session id) now: production, or staging for the
    canary's share of units while a canary runs (a hash of model, unit and canary id, so a unit
    keeps its arm for the whole canary). Apps report ``version`` as the record's ``adapter_version``."""

    model: str
    unit: str
    arm: Literal["production", "staging"]
    version: int = Field(description="the adapter version; 0: the base model, no adapter")
    s3_uri: str | None = Field(description="the adapter archive; null for the base model")
    sha256: str | None
    canary_id: str | None = Field(description="the running canary that assigned the unit, if any")


class CanaryView(BaseModel):
    """A model's latest canary: both arms as of its last look, the always-valid test and the decision."""

    model: str
    version: int = Field(description="the staging version under test")
    control_version: int = Field(description="the production version it is compared with (0: the base model)")
    canary_id: str
    status: Literal["running", "aborted", "promoted", "rolled_back", "inconclusive", "retired", "failed"]
    share: float = Field(description="the share of units staging serves")
    started_at: str
    updated_at: str | None = Field(description="the last look")
    ended_at: str | None
    aborted_by: str | None
    looks: int
    n_control: int
    n_treatment: int
    mean_control: float | None
    mean_treatment: float | None
    effect: float | None = Field(description="mean staging quality minus mean production quality")
    p_value: float = Field(description="always valid: however often it was looked at")
    ci: list[float] | None = Field(description="the confidence sequence of the effect at the last look")
    decision: Literal["continue", "promote", "rollback", "inconclusive"] | None = Field(
        description="the last look's decision; null before the first look")
    reason: str | None
    guards: list[dict[str, Any]] = Field(default_factory=list)
