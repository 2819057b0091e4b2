"""``DriftgateStack``: a thin assembler of the constructs in ``infra/components`` and their grants."""
from __future__ import annotations

from aws_cdk import CfnOutput, Duration, Stack
from constructs import Construct

from infra.components.api import Api
from infra.components.handler_function import DependenciesLayer, HandlerFunction
from infra.components.notifications import Notifications
from infra.components.pipeline import RetrainPipeline
from infra.components.schedule import DriftSchedule
from infra.components.storage import Storage
from infra.nag import add_suppressions
from infra.settings import Settings


class DriftgateStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        settings = Settings.from_node(self.node)
        self.settings = settings

        self.storage = Storage(self, "Storage", raw_retention_days=settings.raw_retention_days)
        self.notifications = Notifications(self, "Notifications", key=self.storage.key, email=settings.notification_email)
        layer = DependenciesLayer(self, "Dependencies").layer
        tables = {
            "INTERACTIONS_TABLE": self.storage.interactions_table.table_name,
            "STATE_TABLE": self.storage.state_table.table_name,
        }
        thresholds = {
            "WINDOW_HOURS": str(settings.window_hours),
            "MIN_WINDOW_SAMPLES": str(settings.min_window_samples),
            "QUALITY_DECAY_THRESHOLD": str(settings.quality_decay_threshold),
            "DRIFT_ALPHA": str(settings.drift_alpha),
            "COOLDOWN_HOURS": str(settings.cooldown_hours),
        }

        self.prepare_dataset = HandlerFunction(
            self, "PrepareDataset", handler="functions.pipeline.prepare_dataset.lambda_handler", layer=layer,
            description="Builds a training set from recent interactions",
            timeout=Duration.minutes(5), memory_size=1024,
            environment={**tables, "RAW_BUCKET": self.storage.raw_bucket.bucket_name,
                         "ARTIFACTS_BUCKET": self.storage.artifacts_bucket.bucket_name,
                         "MIN_TRAINING_RECORDS": str(settings.min_training_records)},
        )
        self.record_failure = HandlerFunction(
            self, "RecordFailure", handler="functions.pipeline.record_failure.lambda_handler", layer=layer,
            description="Records a failed pipeline run", environment={**tables, "COOLDOWN_HOURS": str(settings.cooldown_hours)},
        )
        self.finish_run = HandlerFunction(
            self, "FinishRun", handler="functions.pipeline.finish_run.lambda_handler", layer=layer,
            description="Records a finished pipeline run and starts the cooldown",
            environment={**tables, "COOLDOWN_HOURS": str(settings.cooldown_hours)},
        )
        self.pipeline = RetrainPipeline(
            self, "Retrain",
            prepare_dataset=self.prepare_dataset.function,
            record_failure=self.record_failure.function,
            finish_run=self.finish_run.function,
            topic=self.notifications.topic,
        )
        state_machine_arn = {"STATE_MACHINE_ARN": self.pipeline.state_machine.state_machine_arn}

        self.api_function = HandlerFunction(
            self, "ApiHandler", handler="functions.api.app.lambda_handler", layer=layer,
            description="driftgate REST API", timeout=Duration.seconds(29), memory_size=1024,
            environment={**tables, **thresholds, **state_machine_arn,
                         "RAW_BUCKET": self.storage.raw_bucket.bucket_name},
        )
        self.drift_check = HandlerFunction(
            self, "DriftCheck", handler="functions.monitor.drift_check.lambda_handler", layer=layer,
            description="Scheduled drift and quality-decay check; starts the retrain pipeline on a breach",
            timeout=Duration.minutes(5), memory_size=1024,
            environment={**tables, **thresholds, **state_machine_arn,
                         "MONITORED_MODELS": ",".join(settings.monitored_models)},
        )
        self.api = Api(
            self, "Api", handler=self.api_function.function,
            rate_limit=settings.api_rate_limit, burst_limit=settings.api_burst_limit, enable_waf=settings.enable_waf,
        )
        self.schedule = DriftSchedule(self, "Schedule", target=self.drift_check.function, expression=settings.drift_schedule)

        # Grants: each function gets exactly what its handler touches.
        storage = self.storage
        storage.raw_bucket.grant_put(self.api_function.function)
        storage.interactions_table.grant_read_write_data(self.api_function.function)
        storage.state_table.grant_read_write_data(self.api_function.function)
        self.pipeline.state_machine.grant_start_execution(self.api_function.function)

        storage.raw_bucket.grant_read(self.prepare_dataset.function)
        storage.interactions_table.grant_read_data(self.prepare_dataset.function)
        storage.artifacts_bucket.grant_put(self.prepare_dataset.function)

        storage.state_table.grant_read_write_data(self.record_failure.function)
        storage.state_table.grant_read_write_data(self.finish_run.function)

        storage.interactions_table.grant_read_data(self.drift_check.function)
        storage.state_table.grant_read_write_data(self.drift_check.function)
        self.pipeline.state_machine.grant_start_execution(self.drift_check.function)

        CfnOutput(self, "ApiUrl", value=self.api.rest_api.url)
        CfnOutput(self, "StateMachineArn", value=self.pipeline.state_machine.state_machine_arn)
        CfnOutput(self, "TopicArn", value=self.notifications.topic.topic_arn)
        add_suppressions(self)
