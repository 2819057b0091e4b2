"""The payloads the retrain state machine passes between its tasks (``infra/components/pipeline.py``).

Each Lambda task validates its event with its input model and answers with its output model's
``model_dump(mode="json")``; Step Functions puts that answer at the task's ``ResultPath`` (``$.dataset``,
``$.gate``, ``$.registered``, …), where later states read it by JSONPath. ``TASKS`` names the models of
every task state, and ``tests/pipeline/test_task_models.py`` checks every JSONPath the synthesized
definition reads against them, so renaming a field breaks a test instead of a run.

Output models forbid unknown fields: a handler that starts returning a new key fails its tests until
the model says so. Input models ignore keys they do not read. Where a payload is open-ended (the
gate's configuration, a breach report, an execution's raw input), the stable fields are modelled and
the rest is a ``dict[str, Any]`` field.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.gate.decision import GateDecision, Guard
from functions.registry.models import AdapterAlias

ModelName = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:/-]+$")]


class TaskOutput(BaseModel):
    """What a task returns: exactly these fields, each one always present in the JSON."""

    model_config = ConfigDict(extra="forbid")


# -- the execution's input ($) --------------------------------------------------------------------
class PipelineInput(BaseModel):
    """What starts a run: from the drift check, the API's manual retrain, or the console. The
    state machine reads ``$.model`` and ``$.reason``; FinishRun reads the ``report`` too."""

    model: ModelName
    reason: str = "manual"
    # The scheduled check's breach (ΔM with both means, p-values) or who asked for a manual run.
    report: dict[str, Any] = Field(default_factory=dict)


# -- PrepareDataset → $.dataset ---------------------------------------------------------------------
class PrepareDatasetInput(BaseModel):
    model: ModelName
    reason: str = "manual"
    run_id: str | None = None  # the execution's name; a direct invocation falls back to its request id


class Champion(TaskOutput):
    """The adapter ``production`` points to when the run starts: what the challenger is compared with."""

    version: int
    s3_uri: str


class DatasetManifest(TaskOutput):
    """The summary of the dataset's manifest a version records (the whole one is at ``manifest_uri``)."""

    counts: dict[str, int]  # records kept and dropped at each step, and the sizes of the splits
    sha256: str  # of the train and eval files together


class DatasetCounts(TaskOutput):
    """What PrepareDataset answers either way."""

    model: str
    available_records: int  # stored interactions, erased ones left out
    required_records: int
    champion: Champion | None
    # Raw objects listed but expired (raw_text_retention_days) before they were read: skipped.
    expired_objects: int = 0


class DatasetReady(DatasetCounts):
    enough: Literal[True]
    train_uri: str  # S3 prefixes, the training jobs' channels
    eval_uri: str
    golden_uri: str
    manifest_uri: str
    manifest: DatasetManifest
    message: str


class NotEnoughData(DatasetCounts):
    """Too little data is not an error: the run ends ``SKIPPED``."""

    enough: Literal[False]
    message: str


DatasetOutput = Annotated[DatasetReady | NotEnoughData, Field(discriminator="enough")]


# -- Train / EvaluateVsChampion / EvaluateVsBase → $.training, $.evaluation ---------------------------
class ModelArtifacts(BaseModel):
    s3_model_artifacts: str = Field(alias="S3ModelArtifacts")


class TrainingJobResult(BaseModel):
    """The part of SageMaker's DescribeTrainingJob a training task keeps (its ``ResultSelector``,
    ``infra/components/training.py``): Gate and Register read the job's ``model.tar.gz``."""

    model_config = ConfigDict(populate_by_name=True)

    training_job_name: str = Field(alias="TrainingJobName")
    model_artifacts: ModelArtifacts = Field(alias="ModelArtifacts")
    training_job_status: str = Field(alias="TrainingJobStatus")


# -- Gate → $.gate ------------------------------------------------------------------------------------
class GateInput(BaseModel):
    model: str
    evaluation_uri: str  # the evaluation job's model.tar.gz


GuardResult = Guard  # the gate's own models are the task's output
GateOutput = GateDecision


# -- Register → $.registered --------------------------------------------------------------------------
class RegisterInput(BaseModel):
    model: str
    execution_arn: str
    adapter_uri: str  # the training job's model.tar.gz
    dataset: DatasetManifest
    gate: GateOutput


class RegisteredVersion(TaskOutput):
    version: int
    s3_uri: str
    sha256: str


# -- RequestApproval (manual mode) → $.approval ----------------------------------------------------------
class ApprovalInput(BaseModel):
    model: str
    version: int
    task_token: str


class ApprovalRequested(TaskOutput):
    """The Lambda's own answer. A ``waitForTaskToken`` state discards it and waits for the token."""

    waiting: Literal[True] = True


class ApprovalDecision(TaskOutput):
    """What the state receives at ``$.approval``: the output the API's approval sends with
    ``SendTaskSuccess`` (``functions.registry.service.decide_approval``); a rejection is a
    ``SendTaskFailure`` (``ApprovalRejected``) instead."""

    approved_by: str
    comment: str | None


# -- Promote → $.promoted -----------------------------------------------------------------------------
class PromoteInput(BaseModel):
    model: str
    version: int
    actor: str = "pipeline"  # the alias history names it; the pipeline passes its execution ARN


class PromotedAlias(AdapterAlias):
    """The ``production`` alias after the move: the registry's alias item, with nothing else."""

    model_config = TaskOutput.model_config


# -- StartCanary → $.staging, CheckCanary → $.canary, RetireCanary → $.retired (rollout=canary) ------------
class StartCanaryInput(BaseModel):
    model: str
    version: int
    execution_arn: str  # its name is the canary id the assignment hashes with


class CanaryStarted(TaskOutput):
    """``staging`` points at the version, and its canary runs."""

    version: int
    control_version: int  # production's version when it started (0: the base model)
    canary_id: str
    share: float
    started_at: str


class CheckCanaryInput(BaseModel):
    model: str
    version: int


CanaryOutcome = Literal["continue", "promote", "rollback", "inconclusive", "aborted"]


class CanaryCheck(TaskOutput):
    """One look's decision (``functions.canary.decision.look``) and the numbers it decided on; the
    whole decision is stored with the version and the canary. ``aborted``: an operator stopped it."""

    decision: CanaryOutcome
    reason: str
    canary_id: str
    version: int
    control_version: int
    looks: int
    n_control: int
    n_treatment: int
    mean_control: float | None
    mean_treatment: float | None
    effect: float | None
    p_value: float
    ci: list[float] | None


class RetireCanaryInput(BaseModel):
    model: str
    version: int
    decision: CanaryOutcome
    execution_arn: str


class CanaryRetired(TaskOutput):
    """Staging is cleared and the version retired; production did not move."""

    version: int
    status: Literal["rolled_back", "inconclusive", "retired"]
    production_version: int | None


# -- FinishRun → $.outcome (published by NotifyOutcome) ------------------------------------------------
# The Pass states' $.status; the last three: a canary kept production (rollout=canary).
RunStatus = Literal["PROMOTED", "REJECTED", "REJECTED_BY_REVIEWER", "SKIPPED", "ROLLED_BACK", "INCONCLUSIVE",
                    "CANARY_ABORTED"]


class RunState(BaseModel):
    """The parts of the state machine's whole state (``$``) a finished run reports; those of the
    later tasks are absent on the early exits."""

    model: ModelName
    status: RunStatus
    reason: str = "manual"
    report: dict[str, Any] | None = None
    dataset: DatasetOutput | None = None
    gate: GateOutput | None = None
    registered: RegisteredVersion | None = None
    staging: CanaryStarted | None = None
    canary: CanaryCheck | None = None
    retired: CanaryRetired | None = None
    promoted: PromotedAlias | None = None


class FinishInput(BaseModel):
    execution_arn: str
    state: RunState


class RunOutcome(TaskOutput):
    status: RunStatus
    model: str
    execution_arn: str
    version: int | None  # the version registered, if the run got that far
    promoted_version: int | None
    gate: GateOutput | None
    canary: CanaryCheck | None  # the canary's final look (rollout=canary)
    cooldown_until: str  # ISO 8601: the model's next run may start from then
    message: str


# -- RecordFailure → $.failure (published by NotifyFailure) ----------------------------------------------
class TaskError(BaseModel):
    """What a ``Catch`` puts at ``$.error``; a Lambda's ``Cause`` is its JSON error payload."""

    model_config = ConfigDict(populate_by_name=True)

    error: str = Field(default="Unknown", alias="Error")
    cause: str = Field(default="", alias="Cause")


class FailureInput(BaseModel):
    execution_arn: str
    # The execution's input, unvalidated: the failure path must record a run whose input was invalid.
    input: dict[str, Any] = Field(default_factory=dict)
    error: TaskError = Field(default_factory=lambda: TaskError())


class FailureReport(TaskOutput):
    status: Literal["FAILED"]
    model: str
    execution_arn: str
    error: str
    cause: str
    production_moved_to: int | None  # the version this run promoted before failing, if any
    message: str


# -- the task states ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Task:
    """The payloads of one task state: ``input`` is None for a SageMaker job (the definition builds
    its request), ``output`` is what the state's ``ResultPath`` receives."""

    input: type[BaseModel] | None
    output: Any  # a model class, or an annotated union of them


TASKS: dict[str, Task] = {
    "PrepareDataset": Task(PrepareDatasetInput, DatasetOutput),
    "Train": Task(None, TrainingJobResult),
    "EvaluateVsChampion": Task(None, TrainingJobResult),
    "EvaluateVsBase": Task(None, TrainingJobResult),
    "Gate": Task(GateInput, GateOutput),
    "Register": Task(RegisterInput, RegisteredVersion),
    "RequestApproval": Task(ApprovalInput, ApprovalDecision),
    "StartCanary": Task(StartCanaryInput, CanaryStarted),
    "CheckCanary": Task(CheckCanaryInput, CanaryCheck),
    "RetireCanary": Task(RetireCanaryInput, CanaryRetired),
    "Promote": Task(PromoteInput, PromotedAlias),
    "FinishRun": Task(FinishInput, RunOutcome),
    "RecordFailure": Task(FailureInput, FailureReport),
}
