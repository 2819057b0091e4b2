"""The canary: a live A/B test of a staging adapter against production, decided by an always-valid
sequential test (``sequential``), on sufficient statistics a Lambda can update from aggregates
(``stats``), with the decision rules and guards in ``decision`` and the unit-to-arm hash in
``assignment``. numpy and the standard library only: the zip Lambdas' layer has no scipy."""
from __future__ import annotations

from functions.canary.assignment import assign
from functions.canary.config import CanaryConfig
from functions.canary.decision import CanaryDecision, CanaryState, MetricTest, look
from functions.canary.stats import ArmStats, GroupCount, Moments, Observation

__all__ = ["ArmStats", "CanaryConfig", "CanaryDecision", "CanaryState", "GroupCount", "MetricTest", "Moments",
           "Observation", "assign", "look"]
