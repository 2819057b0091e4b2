"""Metrics with their own dimensions (model, field, status), emitted as EMF at once.

A handler's shared ``Metrics`` keeps one dimension set per flush; a per-model or per-status
metric needs its own, or a warm invocation would overwrite the previous one's dimensions."""
from __future__ import annotations

import os

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from functions.common.contract import METRICS_NAMESPACE, SERVICE_NAME


def emit(name: str, value: float, *, unit: MetricUnit = MetricUnit.NoUnit, **dimensions: str) -> None:
    """Silent when POWERTOOLS_METRICS_DISABLED is set (the local mode), like Powertools' own flush."""
    metric = EphemeralMetrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", METRICS_NAMESPACE),
                              service=os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE_NAME))
    for key, dimension in dimensions.items():
        metric.add_dimension(name=key, value=dimension)
    metric.add_metric(name=name, unit=unit, value=value)
    metric.flush_metrics()
