"""The drift check of one model (its layers carry the ONNX embedding model), invoked
asynchronously by the scheduled dispatcher (``dispatch``) with ``{"model": ...}``: one invocation
per model, so a check's time does not grow with the number of models."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.common.contract import Metric
from functions.common.metrics import emit
from functions.monitor.checks import CheckResult, check_model

logger = Logger()
tracer = Tracer()
SUMMARY_KEYS = ("drift", "p_value", "statistic", "method", "n_baseline", "n_current", "divergences", "error")


def summary(check: CheckResult) -> dict[str, Any]:
    """The check without its full drift reports (those are stored: GET /v1/models/<model>/drift)."""
    return check.model_dump(mode="json", exclude={"drift"}) | {
        "drift": {f: {k: r.get(k) for k in SUMMARY_KEYS} for f, r in check.drift.items()}}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    model = event.get("model")
    if not isinstance(model, str) or not model:
        # A schedule pointed here instead of at the dispatcher: fail loudly (the Errors alarm).
        raise ValueError(f"the drift check checks one model: expected {{'model': <name>}}, got {sorted(event)}")
    check = check_model(model)
    logger.info("drift check", extra={"model": check.model, "status": check.status, "reasons": check.reasons})
    if check.delta is not None:
        emit(Metric.QUALITY_DELTA, check.delta, model=check.model)
    for field, report in check.drift.items():
        if "p_value" in report:
            emit(Metric.DRIFT_P_VALUE, report["p_value"], model=check.model, field=field)
    return summary(check)
