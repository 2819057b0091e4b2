"""CheckCanary (rollout=canary): one look at the canary. Both arms are rebuilt from the per-version
served aggregates (since the canary started), the always-valid sequential test decides
(``functions.canary.decision.look``), and the look, the canary's running state and the decision
are stored. ``continue`` sends the run back to its Wait; the rest end the loop."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.canary import CanaryConfig, CanaryDecision, look
from functions.common.contract import Metric
from functions.common.metrics import emit
from functions.gate.config import gate_config
from functions.pipeline.models import CanaryCheck, CheckCanaryInput
from functions.registry.canaries import canaries

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return check(CheckCanaryInput.model_validate(event)).model_dump(mode="json")


def check(request: CheckCanaryInput) -> CanaryCheck:
    store = canaries()
    item = store.require(request.model, request.version)
    if item["status"] == "running":
        control, treatment = store.arms(item)
        state, decision = look(store.test_state(item).with_arms(control, treatment),
                               CanaryConfig.from_settings(gate_config()), elapsed_hours=store.age_hours(item))
        if store.record_look(item, state, decision):
            logger.info("canary look", extra={"model": request.model, "version": request.version,
                                              "decision": decision.decision, "p_value": decision.p_value})
            metrics(request.model, decision)
            return CanaryCheck(decision=decision.decision, reason=decision.reason, canary_id=decision.canary_id,
                               version=request.version, control_version=int(item["control_version"]),
                               looks=decision.looks, n_control=decision.n_control, n_treatment=decision.n_treatment,
                               mean_control=decision.mean_control, mean_treatment=decision.mean_treatment,
                               effect=decision.effect, p_value=decision.p_value,
                               ci=list(decision.ci) if decision.ci else None)
        item = store.require(request.model, request.version)  # stopped while we looked
    return stopped(item)


def metrics(model: str, decision: CanaryDecision) -> None:
    """What the dashboard's canary widgets plot, per look (and a count per final decision)."""
    emit(Metric.CANARY_P_VALUE, decision.p_value, model=model)
    if decision.effect is not None:
        emit(Metric.CANARY_EFFECT, decision.effect, model=model)
    for arm, n in (("production", decision.n_control), ("staging", decision.n_treatment)):
        emit(Metric.CANARY_ARM_SIZE, n, unit=MetricUnit.Count, model=model, arm=arm)
    if decision.final:
        emit(Metric.CANARY_DECISIONS, 1, unit=MetricUnit.Count, model=model, decision=decision.decision)


def stopped(item: dict[str, Any]) -> CanaryCheck:
    """A canary an operator aborted (or that ended outside this run): the run retires staging."""
    last = item.get("decision") or {}
    who = item.get("aborted_by") or item.get("ended_by") or "unknown"
    return CanaryCheck(decision="aborted", reason=f"the canary is {item['status']} (by {who}); staging is retired",
                       canary_id=item["canary_id"], version=int(item["version"]),
                       control_version=int(item["control_version"]), looks=int(item["state"]["looks"]),
                       n_control=int(last.get("n_control", 0)), n_treatment=int(last.get("n_treatment", 0)),
                       mean_control=last.get("mean_control"), mean_treatment=last.get("mean_treatment"),
                       effect=last.get("effect"), p_value=float(item["state"]["p_value"]), ci=last.get("ci"))
