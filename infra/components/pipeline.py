"""The "retrain" state machine: dataset → LoRA training → evaluation → gate → registry →
(approval) → (canary: staging, a loop of Wait and CheckCanary) → promotion or retirement, every
task a real handler or SageMaker job, every failure into one failure path that never touches the
production alias."""
from __future__ import annotations

import math

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.components.training import TrainingJobs

TASK_TIMEOUT = Duration.minutes(5)
APPROVAL_TIMEOUT = Duration.days(7)
TRANSIENT_ERRORS = ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                    "Lambda.TooManyRequestsException", "States.Timeout",
                    # A function that ran past its timeout (a cold start, a slow dependency); our
                    # tasks are idempotent, so running them again is safe.
                    "Sandbox.Timedout"]


class RetrainPipeline(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: dict[str, lambda_.IFunction],
        training: TrainingJobs,
        training_hyperparameters: dict[str, str],
        evaluation_hyperparameters: dict[str, str],
        topic: sns.ITopic,
        manual_approval: bool,
        canary_wait: Duration | None = None,
        canary_max_hours: float = 0.0,
        warm_start: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = topic
        self.functions = functions
        failure_path = (
            self._invoke("RecordFailure", result_path="$.failure", payload={
                "execution_arn": sfn.JsonPath.string_at("$$.Execution.Id"),
                "input": sfn.JsonPath.object_at("$$.Execution.Input"),
                "error": sfn.JsonPath.object_at("$.error"),
            })
            .next(self._notify("NotifyFailure", "$.failure"))
            .next(sfn.Fail(self, "Failed", error="RetrainFailed",
                            cause="A pipeline task failed; the failure notification says why and where "
                                  "production stands"))
        )
        finish = self._invoke("FinishRun", result_path="$.outcome", payload={
            "execution_arn": sfn.JsonPath.string_at("$$.Execution.Id"),
            "state": sfn.JsonPath.entire_payload,
        })
        finish.next(self._notify("NotifyOutcome", "$.outcome")).next(sfn.Succeed(self, "Done"))

        prepare = self._invoke("PrepareDataset", result_path="$.dataset", payload={
            "model": sfn.JsonPath.string_at("$.model"),
            "reason": sfn.JsonPath.string_at("$.reason"),
            "run_id": sfn.JsonPath.string_at("$$.Execution.Name"),
        })
        train_channels = {"train": "$.dataset.train_uri", "eval": "$.dataset.eval_uri"}
        train_hyperparameters = {**training_hyperparameters, **({"warm_start": "true"} if warm_start else {})}
        train = training.task("Train", program="finetune/train.py", result_path="$.training",
                              hyperparameters=train_hyperparameters, channels=train_channels)
        training_step = sfn.Chain.start(train)
        if warm_start:
            # Continual learning: the challenger's LoRA starts from the production adapter (its
            # model.tar.gz, the "adapter" channel); a model with none yet trains from scratch.
            train_warm = training.task("TrainWarm", program="finetune/train.py", result_path="$.training",
                                       hyperparameters=train_hyperparameters,
                                       channels={**train_channels, "adapter": "$.dataset.champion.s3_uri"})
            training_step = (sfn.Choice(self, "WarmStart?")
                             .when(sfn.Condition.is_present("$.dataset.champion.s3_uri"), train_warm)
                             .otherwise(train).afterwards())
        evaluate_channels = {"challenger": "$.training.ModelArtifacts.S3ModelArtifacts",
                             "eval": "$.dataset.eval_uri", "golden": "$.dataset.golden_uri"}
        vs_champion = training.task("EvaluateVsChampion", program="finetune/compare.py", result_path="$.evaluation",
                                    hyperparameters=evaluation_hyperparameters,
                                    channels={**evaluate_channels, "champion": "$.dataset.champion.s3_uri"})
        vs_base = training.task("EvaluateVsBase", program="finetune/compare.py", result_path="$.evaluation",
                                hyperparameters=evaluation_hyperparameters, channels=evaluate_channels)
        gate = self._invoke("Gate", result_path="$.gate", payload={
            "model": sfn.JsonPath.string_at("$.model"),
            "evaluation_uri": sfn.JsonPath.string_at("$.evaluation.ModelArtifacts.S3ModelArtifacts"),
        })
        register = self._invoke("Register", result_path="$.registered", payload={
            "model": sfn.JsonPath.string_at("$.model"),
            "execution_arn": sfn.JsonPath.string_at("$$.Execution.Id"),
            "adapter_uri": sfn.JsonPath.string_at("$.training.ModelArtifacts.S3ModelArtifacts"),
            "dataset": sfn.JsonPath.object_at("$.dataset.manifest"),
            "gate": sfn.JsonPath.object_at("$.gate"),
        })
        promote = self._invoke("Promote", result_path="$.promoted", payload={
            "model": sfn.JsonPath.string_at("$.model"),
            "version": sfn.JsonPath.number_at("$.registered.version"),
            # The alias history names the run that moved production (and RecordFailure reads it).
            "actor": sfn.JsonPath.string_at("$$.Execution.Id"),
        })
        promote.next(self._status("Promoted", "PROMOTED")).next(finish)
        rejected = self._status("GateRejected", "REJECTED").next(finish)
        approved_path: sfn.IChainable = promote
        catchable: list[sfn.TaskStateBase | sfn.CustomState] = [prepare, train, vs_champion, vs_base, gate, register,
                                                                promote, finish]
        if warm_start:
            catchable.append(train_warm)
        if canary_wait is not None:
            canary_tasks = self._canary(promote, finish, canary_wait)
            approved_path = canary_tasks[0]
            catchable += canary_tasks
        if manual_approval:
            approval = tasks.LambdaInvoke(
                self, "RequestApproval", lambda_function=functions["RequestApproval"],
                integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
                payload=sfn.TaskInput.from_object({
                    "model": sfn.JsonPath.string_at("$.model"),
                    "version": sfn.JsonPath.number_at("$.registered.version"),
                    "task_token": sfn.JsonPath.task_token,
                }),
                result_path="$.approval", task_timeout=sfn.Timeout.duration(APPROVAL_TIMEOUT),
            )
            approval.add_catch(self._status("ReviewerRejected", "REJECTED_BY_REVIEWER").next(finish),
                               errors=["ApprovalRejected"], result_path="$.error")
            approval.next(approved_path)
            approved_path = approval
            catchable.append(approval)

        definition = prepare.next(
            sfn.Choice(self, "EnoughData?")
            .when(sfn.Condition.boolean_equals("$.dataset.enough", True), training_step.next(
                sfn.Choice(self, "HasChampion?")
                .when(sfn.Condition.is_present("$.dataset.champion.s3_uri"), vs_champion)
                .otherwise(vs_base)
                .afterwards()
                .next(gate)
                .next(register)
                .next(sfn.Choice(self, "GatePassed?")
                      .when(sfn.Condition.string_equals("$.gate.decision", "promote"), approved_path)
                      .otherwise(rejected))))
            .otherwise(self._status("NotEnoughData", "SKIPPED").next(finish))
        )
        for task in catchable:
            task.add_catch(failure_path, errors=["States.ALL"], result_path="$.error")

        self.log_group = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.THREE_MONTHS, removal_policy=RemovalPolicy.DESTROY
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            # Training, evaluation, a week's approval, and the canary's longest run.
            timeout=Duration.hours(8 * 24 + (math.ceil(canary_max_hours) if canary_wait else 0)),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        training.grant_run(self.state_machine)
        # SnsPublish grants sns:Publish alone; publishing to an SSE-KMS topic also needs its key,
        # which Topic.grant_publish adds.
        topic.grant_publish(self.state_machine)

    def _canary(self, promote: sfn.IChainable, finish: sfn.IChainable,
                wait: Duration) -> list[tasks.LambdaInvoke]:
        """StartCanary → Wait → CheckCanary → continue (back to the Wait) / promote / retire."""
        version = sfn.JsonPath.number_at("$.registered.version")
        start = self._invoke("StartCanary", result_path="$.staging", payload={
            "model": sfn.JsonPath.string_at("$.model"), "version": version,
            "execution_arn": sfn.JsonPath.string_at("$$.Execution.Id"),
        })
        pause = sfn.Wait(self, "WaitForTraffic", time=sfn.WaitTime.duration(wait))
        check = self._invoke("CheckCanary", result_path="$.canary", payload={
            "model": sfn.JsonPath.string_at("$.model"), "version": version,
        })
        retire = self._invoke("RetireCanary", result_path="$.retired", payload={
            "model": sfn.JsonPath.string_at("$.model"), "version": version,
            "decision": sfn.JsonPath.string_at("$.canary.decision"),
            "execution_arn": sfn.JsonPath.string_at("$$.Execution.Id"),
        })
        decided = sfn.Condition.string_equals
        retire.next(sfn.Choice(self, "CanaryOutcome")
                    .when(decided("$.canary.decision", "rollback"),
                          self._status("RolledBack", "ROLLED_BACK").next(finish))
                    .when(decided("$.canary.decision", "inconclusive"),
                          self._status("Inconclusive", "INCONCLUSIVE").next(finish))
                    .otherwise(self._status("CanaryAborted", "CANARY_ABORTED").next(finish)))
        start.next(pause).next(check).next(
            sfn.Choice(self, "CanaryDecided?")
            .when(decided("$.canary.decision", "continue"), pause)
            .when(decided("$.canary.decision", "promote"), promote)
            .otherwise(retire))
        return [start, check, retire]

    def _invoke(self, name: str, *, result_path: str, payload: dict) -> tasks.LambdaInvoke:
        task = tasks.LambdaInvoke(
            self, name, lambda_function=self.functions[name], payload=sfn.TaskInput.from_object(payload),
            payload_response_only=True, result_path=result_path,
            task_timeout=sfn.Timeout.duration(TASK_TIMEOUT), retry_on_service_exceptions=False,
        )
        # Transient Lambda-side faults are retried with backoff; our own errors are not.
        task.add_retry(errors=TRANSIENT_ERRORS, interval=Duration.seconds(2), max_attempts=3, backoff_rate=2,
                       jitter_strategy=sfn.JitterType.FULL)
        return task

    def _status(self, name: str, status: str) -> sfn.Pass:
        return sfn.Pass(self, name, result=sfn.Result.from_string(status), result_path="$.status")

    def _notify(self, name: str, message_path: str) -> tasks.SnsPublish:
        return tasks.SnsPublish(
            self, name, topic=self.topic, subject=f"driftgate: {name}",
            message=sfn.TaskInput.from_json_path_at(message_path), result_path=sfn.JsonPath.DISCARD,
        )
