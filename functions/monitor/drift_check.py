"""Scheduled check of each monitored model (EventBridge → this Lambda, a container image that
carries the embedding model)."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.common.settings import env
from functions.monitor.checks import check_model

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def _metric(name: str, value: float, **dimensions: str) -> None:
    """One EMF metric per model (and field): alarms and the dashboard select by these dimensions."""
    # EphemeralMetrics: its own dimensions, flushed now (and silent when metrics are disabled).
    metric = EphemeralMetrics(namespace=metrics.namespace, service=metrics.service)
    for key, dimension in dimensions.items():
        metric.add_dimension(name=key, value=dimension)
    metric.add_metric(name=name, unit=MetricUnit.NoUnit, value=value)
    metric.flush_metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    models = [m for m in env("MONITORED_MODELS", "").split(",") if m]
    checks = [check_model(model) for model in models]
    for check in checks:
        logger.info("drift check", extra={"model": check.model, "status": check.status, "reasons": check.reasons})
        if check.delta is not None:
            _metric("QualityDelta", check.delta, model=check.model)
        for field, report in check.drift.items():
            if "p_value" in report:
                _metric("DriftPValue", report["p_value"], model=check.model, field=field)
    return {"checks": [c.model_dump(mode="json", exclude={"drift"}) | {
        "drift": {f: {k: r.get(k) for k in ("drift", "p_value", "statistic", "method", "n_baseline", "n_current", "error")}
                  for f, r in c.drift.items()}} for c in checks]}
