"""The EventBridge schedule that runs the drift check's dispatcher (which starts one check per model)."""
from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct


class DriftSchedule(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, target: lambda_.IFunction, expression: str) -> None:
        super().__init__(scope, construct_id)
        self.rule = events.Rule(
            self,
            "Rule",
            description="driftgate: scheduled drift and quality-decay check",
            schedule=events.Schedule.expression(expression),
        )
        self.rule.add_target(
            targets.LambdaFunction(
                target,
                event=events.RuleTargetInput.from_object({"source": "driftgate.schedule"}),
                retry_attempts=2,
                max_event_age=Duration.hours(1),
            )
        )
