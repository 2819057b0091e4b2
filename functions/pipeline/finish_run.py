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
from functions.pipeline.models import FinishInput, RunOutcome, RunState

logger = Logger()
tracer = Tracer()


def summary(state: RunState) -> str:
    parts = [f"driftgate retrain for {state.model}: {state.status} (trigger: {state.reason})."]
    if state.gate:
        parts.append(f"Gate: {state.gate.decision}, eval-loss improvement {state.gate.mean_improvement:.4f} "
                     f"CI [{state.gate.ci_low:.4f}, {state.gate.ci_high:.4f}].")
    if state.registered:
        parts.append(f"Adapter version {state.registered.version} registered.")
    if state.canary:
        c = state.canary
        ci = "—" if c.ci is None else f"[{c.ci[0]:.4f}, {c.ci[1]:.4f}]"
        parts.append(f"Canary: {c.decision} after {c.looks} looks (production n={c.n_control}, staging "
                     f"n={c.n_treatment}, effect CI {ci}, p = {c.p_value:.4g}): {c.reason}.")
    if state.retired:
        parts.append(f"Staging version {state.retired.version} retired; production unchanged.")
    if state.promoted:
        parts.append(f"production -> version {state.promoted.version}.")
    elif state.dataset and not state.dataset.enough:
        parts.append(state.dataset.message)
    return " ".join(parts)


def as_json(payload: BaseModel | None) -> dict[str, Any] | None:
    return payload.model_dump(mode="json") if payload is not None else None


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return finish(FinishInput.model_validate(event)).model_dump(mode="json")


def finish(run: FinishInput) -> RunOutcome:
    state = run.state
    version = state.registered.version if state.registered else None
    repos = repositories()
    repos.state.record_run(state.model, run.execution_arn, state.status, reason=state.reason,
                           trigger=state.report or None, dataset=as_json(state.dataset), gate=as_json(state.gate),
                           version=version, canary=as_json(state.canary))
    cooldown_until = release(repos, state.model)
    emit(Metric.PIPELINE_RUNS, 1, unit=MetricUnit.Count, status=state.status)
    return RunOutcome(status=state.status, model=state.model, execution_arn=run.execution_arn, version=version,
                      promoted_version=state.promoted.version if state.promoted else None, gate=state.gate,
                      canary=state.canary, cooldown_until=cooldown_until, message=summary(state))
