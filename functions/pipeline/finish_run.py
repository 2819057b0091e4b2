"""FinishRun: records how a run ended (with the gate's numbers and the version) and frees the
model's trigger, which starts the cooldown."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from functions.common.contract import Metric
from functions.common.metrics import emit
from functions.common.repositories import repositories
from functions.monitor.run_guard import release

logger = Logger()
tracer = Tracer()


class RunState(BaseModel):
    """The parts of the state machine's state a finished run reports (absent on early exits)."""

    model: str
    status: str
    reason: str = "manual"
    report: dict[str, Any] | None = None  # the scheduled check's breach (ΔM with both means, p-values)
    dataset: dict[str, Any] | None = None
    gate: dict[str, Any] | None = None
    registered: dict[str, Any] | None = None
    promoted: dict[str, Any] | None = None


class FinishInput(BaseModel):
    execution_arn: str
    state: RunState


def summary(state: RunState) -> str:
    parts = [f"driftgate retrain for {state.model}: {state.status} (trigger: {state.reason})."]
    if state.gate:
        parts.append(f"Gate: {state.gate.get('decision')}, eval-loss improvement {state.gate.get('mean_improvement', 0):.4f} "
                     f"CI [{state.gate.get('ci_low', 0):.4f}, {state.gate.get('ci_high', 0):.4f}].")
    if state.registered:
        parts.append(f"Adapter version {state.registered.get('version')} registered.")
    if state.promoted:
        parts.append(f"production -> version {state.promoted.get('version')}.")
    elif state.dataset and not state.dataset.get("enough", True):
        parts.append(state.dataset.get("message", ""))
    return " ".join(parts)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    run = FinishInput.model_validate(event)
    state = run.state
    repos = repositories()
    repos.state.record_run(state.model, run.execution_arn, state.status, reason=state.reason,
                           trigger=state.report or None, dataset=state.dataset, gate=state.gate,
                           version=(state.registered or {}).get("version"))
    cooldown_until = release(repos, state.model)
    emit(Metric.PIPELINE_RUNS, 1, unit=MetricUnit.Count, status=state.status)
    return {"status": state.status, "model": state.model, "execution_arn": run.execution_arn,
            "version": (state.registered or {}).get("version"),
            "promoted_version": (state.promoted or {}).get("version"),
            "gate": state.gate, "cooldown_until": cooldown_until, "message": summary(state)}
