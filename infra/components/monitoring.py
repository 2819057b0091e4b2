"""What operators watch and what pages them: one CloudWatch dashboard, and alarms that publish to
the notifications topic (drift, quality decay, failed retrains, API 5xx, Lambda errors)."""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from aws_cdk import Annotations, Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from functions.common.contract import METRICS_NAMESPACE, SERVICE_NAME, Metric

# Powertools adds POWERTOOLS_SERVICE_NAME (set by HandlerFunction) as the ``service`` dimension of every metric.
SERVICE = SERVICE_NAME
# The fields the drift check tests (functions/monitor/checks.py ``FIELDS``): prompt drift is a change in what
# users ask, output drift a change in how the model answers. The check tests each at alpha / len(FIELDS)
# (Bonferroni), and so do the alarms.
DRIFT_FIELDS = ("prompt", "output")
# The drift check runs on a schedule (hourly by default): its alarms take the worst value of each hour and,
# treating missing data as 'ignore', keep their state between checks run less often. Operational metrics: 5 min.
CHECK_PERIOD = Duration.hours(1)
OPS_PERIOD = Duration.minutes(5)
WIDTH = 24


class Monitoring(Construct):
    """A dashboard of the stack and its alarms. ``alarms`` maps a stable name (``drift:<model>:<field>``,
    ``quality-decay:<model>``, ``pipeline-failed``, ``api-5xx``, ``errors:<function>``) to each alarm.

    ``key`` is the customer-managed key ``topic`` is encrypted with: its policy must let CloudWatch
    use it, or alarm notifications fail with a KMS AccessDenied in the alarm's history."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: apigw.RestApi,
        functions: Mapping[str, lambda_.IFunction],
        state_machine: sfn.StateMachine,
        topic: sns.ITopic,
        key: kms.IKey,
        models: Sequence[str],
        drift_alpha: float,
        quality_decay_threshold: float,
    ) -> None:
        super().__init__(scope, construct_id)
        self._allow_alarms_to_use(key)
        self._notify = cw_actions.SnsAction(topic)
        self.alarms: dict[str, cw.Alarm] = {}
        stage = api.deployment_stage
        field_alpha = drift_alpha / len(DRIFT_FIELDS)

        for model in models:
            for field in DRIFT_FIELDS:
                self._alarm(
                    f"drift:{model}:{field}", f"Drift-{_id(model)}-{field}",
                    metric=_drift_p_value(model, field), threshold=field_alpha,
                    comparison=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
                    # The check runs on a schedule and skips windows with too few samples: no point is no news,
                    # so the alarm keeps its state until the next check says otherwise.
                    missing=cw.TreatMissingData.IGNORE, ok_action=True,
                    description=(
                        f"driftgate: the {field}s of model '{model}' drifted: the scheduled drift check's p-value "
                        f"fell below {field_alpha:g} (alpha={drift_alpha:g} split over {len(DRIFT_FIELDS)} fields; "
                        "lowest p-value in the hour). "
                        + ("Users now ask different things than in the baseline window. " if field == "prompt"
                           else "The model now answers differently than in the baseline window. ")
                        + "The drift check starts a retrain unless one is running or the model is in cooldown. "
                        "To do: on the driftgate dashboard, compare with the quality delta of this model; follow "
                        "the run in the Retrain state machine; if quality holds and the shift is expected, freeze "
                        f"a new baseline (POST /v1/models/{model}/baseline)."
                    ),
                )
            self._alarm(
                f"quality-decay:{model}", f"QualityDecay-{_id(model)}",
                metric=_quality_delta(model), threshold=quality_decay_threshold,
                comparison=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                missing=cw.TreatMissingData.IGNORE, ok_action=True,
                description=(
                    f"driftgate: mean quality of model '{model}' in the current window is more than "
                    f"{quality_decay_threshold:g} below its frozen baseline (QualityDelta = baseline - current). "
                    "The drift check starts a retrain unless one is running or the model is in cooldown. "
                    "To do: follow the run in the Retrain state machine (or POST "
                    f"/v1/models/{model}/retrain after the cooldown); look at recent interactions and feedback "
                    f"(GET /v1/models/{model}/quality); if the change is expected, freeze a new baseline."
                ),
            )
        self._alarm(
            "pipeline-failed", "PipelineFailed",
            metric=state_machine.metric_failed(period=OPS_PERIOD, statistic=cw.Stats.SUM),
            threshold=1, comparison=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # No executions, no failures.
            missing=cw.TreatMissingData.NOT_BREACHING, ok_action=False,
            description=(
                "driftgate: a retrain execution failed. Production is unchanged: the failure path never moves "
                "the production alias. To do: open the failed execution of the Retrain state machine in the "
                "Step Functions console, read the error that RecordFailure recorded (the NotifyFailure message "
                "on this topic carries it too), fix the cause, then POST /v1/models/<model>/retrain."
            ),
        )
        self._alarm(
            "api-5xx", "Api5xx",
            metric=stage.metric_server_error(period=OPS_PERIOD, statistic=cw.Stats.SUM),
            threshold=1, comparison=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # API Gateway publishes zeros while there is traffic; no traffic means no server errors.
            missing=cw.TreatMissingData.NOT_BREACHING, ok_action=True,
            description=(
                "driftgate: the REST API answered with 5xx errors in the last 5 minutes, so client calls "
                "failed. To do: check the ApiHandler errors alarm, its log group (Powertools JSON, level ERROR) "
                "and X-Ray traces; a Lambda timeout (29 s) or throttle also shows here as a 5xx."
            ),
        )
        for name, function in functions.items():
            self._alarm(
                f"errors:{name}", f"Errors-{_id(name)}",
                metric=function.metric_errors(period=OPS_PERIOD, statistic=cw.Stats.SUM),
                threshold=1, comparison=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                missing=cw.TreatMissingData.NOT_BREACHING, ok_action=False,
                description=(
                    f"driftgate: the {name} Lambda function failed in the last 5 minutes. To do: read its log "
                    "group (Powertools JSON, level ERROR, with the request id) and its X-Ray traces; a failed "
                    "pipeline task also fails its retrain run, which never touches production."
                ),
            )

        self.dashboard = cw.Dashboard(self, "Dashboard", default_interval=Duration.days(7))
        self._widgets(api=api, functions=functions, state_machine=state_machine, models=models,
                      field_alpha=field_alpha, quality_decay_threshold=quality_decay_threshold)

    def _allow_alarms_to_use(self, key: kms.IKey) -> None:
        """Alarms publish to the encrypted topic as the CloudWatch service, which needs the topic's key."""
        result = key.add_to_resource_policy(iam.PolicyStatement(
            sid="AllowCloudWatchAlarmsToPublishToEncryptedTopic",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            resources=["*"],  # in a key policy, "*" is this key
        ))
        if not result.statement_added:
            Annotations.of(self).add_warning_v2(
                "driftgate:monitoring-key-policy",
                "The topic's key is imported: allow cloudwatch.amazonaws.com kms:Decrypt and kms:GenerateDataKey* "
                "in its key policy by hand, or alarm notifications will not be delivered.",
            )

    def _alarm(self, name: str, construct_id: str, *, metric: cw.IMetric, threshold: float,
               comparison: cw.ComparisonOperator, missing: cw.TreatMissingData, ok_action: bool,
               description: str) -> None:
        alarm = cw.Alarm(
            self, construct_id, metric=metric, threshold=threshold, comparison_operator=comparison,
            evaluation_periods=1, datapoints_to_alarm=1, treat_missing_data=missing, alarm_description=description,
        )
        alarm.add_alarm_action(self._notify)
        if ok_action:
            alarm.add_ok_action(self._notify)
        self.alarms[name] = alarm

    def _widgets(self, *, api: apigw.RestApi, functions: Mapping[str, lambda_.IFunction],
                 state_machine: sfn.StateMachine, models: Sequence[str], field_alpha: float,
                 quality_decay_threshold: float) -> None:
        stage = api.deployment_stage
        board = self.dashboard
        board.add_widgets(cw.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=WIDTH))

        board.add_widgets(_heading("Ingest and quality"))
        board.add_widgets(
            cw.GraphWidget(
                title="Ingested interactions (sum / 5 min)", width=12,
                left=[_app_metric(Metric.INTERACTIONS_ACCEPTED, cw.Stats.SUM, OPS_PERIOD, "accepted"),
                      _app_metric(Metric.INTERACTIONS_DUPLICATE, cw.Stats.SUM, OPS_PERIOD, "duplicates"),
                      _app_metric(Metric.FEEDBACK, cw.Stats.SUM, OPS_PERIOD, "feedback")],
            ),
            cw.GraphWidget(
                title="Mean quality score of accepted interactions (hourly)", width=12,
                left=[_app_metric(Metric.QUALITY, cw.Stats.AVERAGE, CHECK_PERIOD, "mean quality")],
                left_y_axis=cw.YAxisProps(min=0, max=1, show_units=False),
            ),
        )

        board.add_widgets(_heading("Drift and quality decay (scheduled check)"))
        drift_widgets: list[cw.IWidget] = [
            cw.GraphWidget(
                title=f"Drift p-value: {model} (min / hour)", width=12,
                left=[_drift_p_value(model, field, f"{field} p-value") for field in DRIFT_FIELDS],
                left_y_axis=cw.YAxisProps(min=0, max=1, show_units=False),
                left_annotations=[cw.HorizontalAnnotation(
                    value=field_alpha, label=f"alpha per field = {field_alpha:g}", color=cw.Color.RED,
                    fill=cw.Shading.BELOW)],
            )
            for model in models
        ]
        drift_widgets.append(cw.GraphWidget(
            title="Quality delta, baseline - current (max / hour)", width=12,
            left=[_quality_delta(model, model) for model in models],
            left_y_axis=cw.YAxisProps(show_units=False),
            left_annotations=[cw.HorizontalAnnotation(
                value=quality_decay_threshold, label=f"decay threshold = {quality_decay_threshold:g}",
                color=cw.Color.RED, fill=cw.Shading.ABOVE)],
        ))
        board.add_widgets(*drift_widgets)

        board.add_widgets(_heading("Retrain pipeline"))
        board.add_widgets(
            cw.GraphWidget(
                title="Finished runs by status (hourly)", width=8,
                # Statuses are the pipeline's (PROMOTED, REJECTED, SKIPPED, ...): a search shows each one.
                left=[cw.MathExpression(
                    expression=(f"SEARCH('{{{METRICS_NAMESPACE},service,status}} MetricName=\"{Metric.PIPELINE_RUNS}\" "
                                f"service=\"{SERVICE}\"', 'Sum', {int(CHECK_PERIOD.to_seconds())})"),
                    label="", period=CHECK_PERIOD)],
            ),
            cw.GraphWidget(
                title="Gate outcomes (hourly)", width=8, stacked=True,
                left=[_app_metric(outcome, cw.Stats.SUM, CHECK_PERIOD, f"{label} {model}", model=model)
                      for model in models
                      for outcome, label in ((Metric.GATE_PROMOTE, "promote"), (Metric.GATE_REJECT, "reject"))],
            ),
            cw.GraphWidget(
                title="State machine executions (hourly)", width=8,
                left=[state_machine.metric_started(period=CHECK_PERIOD, label="started"),
                      state_machine.metric_succeeded(period=CHECK_PERIOD, label="succeeded"),
                      state_machine.metric_failed(period=CHECK_PERIOD, label="failed"),
                      state_machine.metric_timed_out(period=CHECK_PERIOD, label="timed out"),
                      state_machine.metric_aborted(period=CHECK_PERIOD, label="aborted")],
            ),
        )

        board.add_widgets(_heading("Canary (rollout=canary): staging against production on live traffic"))
        board.add_widgets(*[
            cw.GraphWidget(
                title=f"Canary: {model}: quality effect (staging - production) and always-valid p-value", width=12,
                left=[_app_metric(Metric.CANARY_EFFECT, cw.Stats.AVERAGE, OPS_PERIOD, "effect", model=model)],
                right=[_app_metric(Metric.CANARY_P_VALUE, cw.Stats.MINIMUM, OPS_PERIOD, "p-value", model=model)],
                left_y_axis=cw.YAxisProps(show_units=False), right_y_axis=cw.YAxisProps(min=0, max=1, show_units=False),
                left_annotations=[cw.HorizontalAnnotation(value=0, label="no difference")],
            )
            for model in models
        ], cw.GraphWidget(
            title="Canary arm sizes (interactions since the canary started)", width=12,
            left=[_app_metric(Metric.CANARY_ARM_SIZE, cw.Stats.MAXIMUM, OPS_PERIOD, f"{arm} {model}", model=model,
                              arm=arm) for model in models for arm in ("production", "staging")],
        ), cw.GraphWidget(
            title="Canary decisions (hourly)", width=12,
            left=[cw.MathExpression(
                expression=(f"SEARCH('{{{METRICS_NAMESPACE},decision,model,service}} "
                            f"MetricName=\"{Metric.CANARY_DECISIONS}\" service=\"{SERVICE}\"', 'Sum', "
                            f"{int(CHECK_PERIOD.to_seconds())})"),
                label="", period=CHECK_PERIOD)],
        ))

        board.add_widgets(_heading("REST API (deployment stage)"))
        board.add_widgets(
            cw.GraphWidget(
                title="Requests and errors (sum / 5 min)", width=12,
                left=[stage.metric_count(period=OPS_PERIOD, statistic=cw.Stats.SAMPLE_COUNT, label="requests")],
                right=[stage.metric_client_error(period=OPS_PERIOD, statistic=cw.Stats.SUM, label="4xx"),
                       stage.metric_server_error(period=OPS_PERIOD, statistic=cw.Stats.SUM, label="5xx")],
            ),
            cw.GraphWidget(
                title="Latency (ms)", width=12,
                left=[stage.metric_latency(period=OPS_PERIOD, statistic=cw.Stats.p(50), label="p50"),
                      stage.metric_latency(period=OPS_PERIOD, statistic=cw.Stats.p(99), label="p99"),
                      stage.metric_integration_latency(period=OPS_PERIOD, statistic=cw.Stats.p(99),
                                                       label="integration p99")],
            ),
        )

        board.add_widgets(_heading("Lambda functions"))
        board.add_widgets(*[
            cw.GraphWidget(
                title=f"{name}: errors, throttles (sum) and duration (p99, ms)", width=8,
                left=[function.metric_errors(period=OPS_PERIOD, statistic=cw.Stats.SUM, label="errors"),
                      function.metric_throttles(period=OPS_PERIOD, statistic=cw.Stats.SUM, label="throttles")],
                right=[function.metric_duration(period=OPS_PERIOD, statistic=cw.Stats.p(99), label="duration p99")],
            )
            for name, function in functions.items()
        ])


def _app_metric(name: str, statistic: str, period: Duration, label: str | None, **dimensions: str) -> cw.Metric:
    """A metric our handlers emit with Powertools (EMF) into the Driftgate namespace. Alarms take theirs
    without a label, which keeps them in CloudFormation's plain single-metric form."""
    return cw.Metric(namespace=METRICS_NAMESPACE, metric_name=name, statistic=statistic, period=period, label=label,
                     dimensions_map={**dimensions, "service": SERVICE})


def _drift_p_value(model: str, field: str, label: str | None = None) -> cw.Metric:
    return _app_metric(Metric.DRIFT_P_VALUE, cw.Stats.MINIMUM, CHECK_PERIOD, label, model=model, field=field)


def _quality_delta(model: str, label: str | None = None) -> cw.Metric:
    return _app_metric(Metric.QUALITY_DELTA, cw.Stats.MAXIMUM, CHECK_PERIOD, label, model=model)


def _heading(text: str) -> cw.TextWidget:
    return cw.TextWidget(markdown=f"## {text}", width=WIDTH, height=1)


def _id(name: str) -> str:
    """A model or function name as part of a construct id (model names may hold '/', ':' and '.')."""
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-") or "x"
