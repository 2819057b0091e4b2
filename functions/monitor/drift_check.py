"""Scheduled check of each monitored model (EventBridge → this Lambda, a container image that
carries the embedding model)."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.common.contract import Metric, settings
from functions.common.metrics import emit
from functions.monitor.checks import check_model

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    models = list(settings.monitored_models)
    checks = [check_model(model) for model in models]
    for check in checks:
        logger.info("drift check", extra={"model": check.model, "status": check.status, "reasons": check.reasons})
        if check.delta is not None:
            emit(Metric.QUALITY_DELTA, check.delta, model=check.model)
        for field, report in check.drift.items():
            if "p_value" in report:
                emit(Metric.DRIFT_P_VALUE, report["p_value"], model=check.model, field=field)
    summary_keys = ("drift", "p_value", "statistic", "method", "n_baseline", "n_current", "error")
    return {"checks": [c.model_dump(mode="json", exclude={"drift"}) | {
        "drift": {f: {k: r.get(k) for k in summary_keys} for f, r in c.drift.items()}} for c in checks]}
