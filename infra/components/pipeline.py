"""The "retrain" state machine: each task a real handler, every failure into one failure path."""
from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

TASK_TIMEOUT = Duration.minutes(5)


class RetrainPipeline(Construct):
    """PrepareDataset → EnoughData? → Notify, with Retry on transient errors and a Catch on every
    task into RecordFailure → NotifyFailure → Failed (production is never touched on that path)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prepare_dataset: lambda_.IFunction,
        record_failure: lambda_.IFunction,
        finish_run: lambda_.IFunction,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = topic
        failure_path = (
            self._invoke("RecordFailure", record_failure, result_path="$.failure", payload=sfn.TaskInput.from_object({
                "execution_arn": sfn.JsonPath.string_at("$$.Execution.Id"),
                "input": sfn.JsonPath.object_at("$$.Execution.Input"),
                "error": sfn.JsonPath.object_at("$.error"),
            }))
            .next(self._notify("NotifyFailure", "$.failure"))
            .next(sfn.Fail(self, "Failed", error="RetrainFailed", cause="A pipeline task failed; production is unchanged"))
        )

        prepare = self._invoke("PrepareDataset", prepare_dataset, result_path="$.dataset")
        finish = self._invoke("FinishRun", finish_run, result_path="$.outcome", payload=sfn.TaskInput.from_object({
            "execution_arn": sfn.JsonPath.string_at("$$.Execution.Id"),
            "model": sfn.JsonPath.string_at("$.model"),
            "reason": sfn.JsonPath.string_at("$.reason"),
            "status": sfn.JsonPath.string_at("$.status"),
            "dataset": sfn.JsonPath.object_at("$.dataset"),
        }))
        finish.next(self._notify("NotifyOutcome", "$.outcome")).next(sfn.Succeed(self, "Done"))
        enough = (
            sfn.Choice(self, "EnoughData?")
            .when(sfn.Condition.boolean_equals("$.dataset.enough", True), self._status("DatasetReady", "DATASET_READY"))
            .otherwise(self._status("NotEnoughData", "SKIPPED"))
            .afterwards()
            .next(finish)
        )
        for task in (prepare, finish):
            task.add_catch(failure_path, errors=["States.ALL"], result_path="$.error")

        self.log_group = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.THREE_MONTHS, removal_policy=RemovalPolicy.DESTROY
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=None,
            definition_body=sfn.DefinitionBody.from_chainable(prepare.next(enough)),
            timeout=Duration.hours(12),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )

    def _invoke(
        self, name: str, function: lambda_.IFunction, *, result_path: str, payload: sfn.TaskInput | None = None
    ) -> tasks.LambdaInvoke:
        task = tasks.LambdaInvoke(
            self,
            name,
            lambda_function=function,
            payload=payload,
            payload_response_only=True,
            result_path=result_path,
            task_timeout=sfn.Timeout.duration(TASK_TIMEOUT),
            retry_on_service_exceptions=False,
        )
        # Transient Lambda-side faults are retried with backoff; our own errors are not.
        task.add_retry(
            errors=["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                    "Lambda.TooManyRequestsException", "States.Timeout"],
            interval=Duration.seconds(2), max_attempts=3, backoff_rate=2, jitter_strategy=sfn.JitterType.FULL,
        )
        return task

    def _status(self, name: str, status: str) -> sfn.Pass:
        return sfn.Pass(self, name, result=sfn.Result.from_string(status), result_path="$.status")

    def _notify(self, name: str, message_path: str) -> tasks.SnsPublish:
        return tasks.SnsPublish(
            self,
            name,
            topic=self.topic,
            subject=f"driftgate: {name}",
            message=sfn.TaskInput.from_json_path_at(message_path),
            result_path=sfn.JsonPath.DISCARD,
        )
