"""``DriftgateStack``: a thin assembler of the constructs in ``infra/components`` and their grants."""
from __future__ import annotations

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from functions.common.contract import BASELINE_EMBEDDINGS_PREFIX
from functions.common.contract import Settings as HandlerSettings
from infra.components.api import Api
from infra.components.handler_function import (
    EMBEDDING_MODEL_DIR,
    DependenciesLayer,
    EmbeddingLayers,
    HandlerFunction,
)
from infra.components.monitoring import Monitoring
from infra.components.notifications import Notifications
from infra.components.pipeline import RetrainPipeline
from infra.components.schedule import DriftSchedule
from infra.components.storage import Storage
from infra.components.training import TrainingJobs
from infra.components.user_id_key import UserIdKey
from infra.nag import add_suppressions
from infra.settings import Settings

# (handler module, description, timeout, memory) of each state machine task function.
PIPELINE_TASKS = {
    "PrepareDataset": ("prepare_dataset", "Builds a training set from recent interactions", Duration.minutes(5), 2048),
    "Gate": ("gate", "Decides challenger vs champion (paired bootstrap + guards)", Duration.minutes(2), 1024),
    "Register": ("register", "Verifies and registers a new adapter version", Duration.minutes(2), 1024),
    "Promote": ("promote", "Moves the production alias and freezes the baseline", Duration.seconds(30), 512),
    "RequestApproval": ("request_approval", "Parks a run until a person approves", Duration.seconds(30), 256),
    "StartCanary": ("start_canary", "Stages a version and starts its canary", Duration.seconds(30), 512),
    "CheckCanary": ("check_canary", "Looks at a canary: the always-valid online test", Duration.minutes(1), 512),
    "RetireCanary": ("retire_canary", "Retires a staging version production kept", Duration.seconds(30), 256),
    "FinishRun": ("finish_run", "Records a finished run and starts the cooldown", Duration.seconds(30), 256),
    "RecordFailure": ("record_failure", "Records a failed run", Duration.seconds(30), 256),
}
CANARY_TASKS = ("StartCanary", "CheckCanary", "RetireCanary")  # rollout=canary only


class DriftgateStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        settings = Settings.from_node(self.node)
        self.settings = settings
        manual = settings.approval_mode == "manual"
        canary = settings.rollout == "canary"

        self.storage = Storage(self, "Storage", raw_text_retention_days=settings.raw_text_retention_days)
        storage = self.storage
        self.user_id_key = UserIdKey(self, "UserIdKey", key=storage.key)
        self.notifications = Notifications(self, "Notifications", key=storage.key, email=settings.notification_email)
        layer = DependenciesLayer(self, "Dependencies").layer
        # Names and formats come from the handlers' contract: a misspelt setting fails here.
        common_env = HandlerSettings.environment(
            interactions_table=storage.interactions_table.table_name,
            interactions_user_index=storage.user_index,
            interactions_sample_index=storage.sample_index,
            state_table=storage.state_table.table_name,
            raw_bucket=storage.raw_bucket.bucket_name,
            artifacts_bucket=storage.artifacts_bucket.bucket_name,
            window_hours=settings.window_hours,
            reservoir_size=settings.reservoir_size,
            ingest_shards=settings.ingest_shards,
            min_window_samples=settings.min_window_samples,
            quality_decay_threshold=settings.quality_decay_threshold,
            drift_alpha=settings.drift_alpha,
            cooldown_hours=settings.cooldown_hours,
            min_training_records=settings.min_training_records,
            min_training_quality=settings.min_training_quality,
            gate_config=settings.gate,
            dataset_window_days=settings.dataset_window_days,
            canary_share=settings.canary_share,
            canary_alpha=settings.canary_alpha,
            canary_min_effect=settings.canary_min_effect,
            canary_min_samples=settings.canary_min_samples,
            canary_max_samples=settings.canary_max_samples,
            canary_max_hours=settings.canary_max_hours,
            # Replay is half of the continual-learning recipe: without warm start, no replay.
            replay_fraction=settings.replay_fraction if settings.warm_start else 0.0,
        )
        # The tasks only one mode's state machine has.
        absent = ({"RequestApproval"} if not manual else set()) | (set(CANARY_TASKS) if not canary else set())

        self.tasks = {
            name: HandlerFunction(self, name, handler=f"functions.pipeline.{module}.lambda_handler", layer=layer,
                                  description=description, timeout=timeout, memory_size=memory, environment=common_env)
            for name, (module, description, timeout, memory) in PIPELINE_TASKS.items()
            if name not in absent
        }
        self.training = TrainingJobs(
            self, "Training", artifacts_bucket=storage.artifacts_bucket, key=storage.key,
            image_uri=settings.training_image_uri, instance_type=settings.training_instance_type,
            use_spot=settings.use_spot_training, base_model=settings.base_model_id,
        )
        self.pipeline = RetrainPipeline(
            self, "Retrain", functions={name: f.function for name, f in self.tasks.items()},
            training=self.training, training_hyperparameters=settings.training_hyperparameters,
            evaluation_hyperparameters=settings.evaluation_hyperparameters,
            topic=self.notifications.topic, manual_approval=manual,
            canary_wait=Duration.seconds(settings.canary_wait_seconds) if canary else None,
            canary_max_hours=settings.canary_max_hours, warm_start=settings.warm_start,
        )
        with_machine = {**common_env, **HandlerSettings.environment(
            state_machine_arn=self.pipeline.state_machine.state_machine_arn, approval_mode=settings.approval_mode)}

        self.api_function = HandlerFunction(
            self, "ApiHandler", handler="functions.api.app.lambda_handler", layer=layer,
            description="driftgate REST API", timeout=Duration.seconds(29), memory_size=1024,
            environment={**with_machine, **HandlerSettings.environment(
                user_id_key_secret=self.user_id_key.secret.secret_arn)},
        )
        self.drift_check = HandlerFunction(
            self, "DriftCheck", handler="functions.monitor.drift_check.lambda_handler", layer=layer,
            extra_layers=EmbeddingLayers(self, "Embedder").layers,
            description="Scheduled drift and quality-decay check (embeds samples); starts the retrain pipeline",
            timeout=Duration.minutes(10), memory_size=3008,
            environment={**with_machine, **HandlerSettings.environment(
                monitored_models=settings.monitored_models, embedding_cache_dir="/tmp/embeddings",
                embedding_model_dir=EMBEDDING_MODEL_DIR, retrain_policy=settings.retrain_policy,
                retrain_every_days=settings.retrain_every_days)},
        )
        self.api = Api(
            self, "Api", handler=self.api_function.function,
            rate_limit=settings.api_rate_limit, burst_limit=settings.api_burst_limit, enable_waf=settings.enable_waf,
            account_logging_role=settings.api_gateway_account_logging_role,
        )
        # The schedule runs a small dispatcher that invokes the check once per model, asynchronously:
        # a separate function, as a check granted invoke on itself would make its role policy and
        # the function depend on each other (a CloudFormation cycle).
        self.drift_dispatch = HandlerFunction(
            self, "DriftDispatch", handler="functions.monitor.dispatch.lambda_handler", layer=layer,
            description="Scheduled: invokes the drift check once per model with a frozen baseline",
            timeout=Duration.minutes(1), memory_size=256,
            environment={**common_env, **HandlerSettings.environment(
                monitored_models=settings.monitored_models,
                drift_check_function=self.drift_check.function.function_name)},
        )
        # As the schedule's own target did: two retries, and a check older than an hour is dropped
        # (the next scheduled one is due).
        self.drift_check.function.configure_async_invoke(retry_attempts=2, max_event_age=Duration.hours(1))
        self.schedule = DriftSchedule(self, "Schedule", target=self.drift_dispatch.function,
                                      expression=settings.drift_schedule)
        self._grant()
        self.monitoring = Monitoring(
            self, "Monitoring", api=self.api.rest_api,
            functions={**{name: f.function for name, f in self.tasks.items()},
                       "ApiHandler": self.api_function.function, "DriftCheck": self.drift_check.function,
                       "DriftDispatch": self.drift_dispatch.function},
            state_machine=self.pipeline.state_machine, topic=self.notifications.topic, key=storage.key,
            models=settings.monitored_models, drift_alpha=settings.drift_alpha,
            quality_decay_threshold=settings.quality_decay_threshold,
        )

        CfnOutput(self, "ApiUrl", value=self.api.rest_api.url)
        CfnOutput(self, "StateMachineArn", value=self.pipeline.state_machine.state_machine_arn)
        CfnOutput(self, "TopicArn", value=self.notifications.topic.topic_arn)
        CfnOutput(self, "ArtifactsBucket", value=self.storage.artifacts_bucket.bucket_name)
        CfnOutput(self, "StateTable", value=self.storage.state_table.table_name)
        add_suppressions(self)

    def _grant(self) -> None:
        """Each function gets exactly what its handler touches."""
        storage, machine = self.storage, self.pipeline.state_machine
        fn = {name: f.function for name, f in self.tasks.items()}
        api, drift = self.api_function.function, self.drift_check.function

        storage.raw_bucket.grant_put(api)
        # Erasure (and ingest's merge of a retried batch) read, rewrite and delete raw objects; the
        # raw bucket is unversioned, so DeleteObject alone (not grant_delete's DeleteObject*).
        storage.raw_bucket.grant_read(api, "raw/*")
        # Erasure rewrites the frozen baselines' copies of their samples' lines too.
        storage.raw_bucket.grant_read(api, f"{BASELINE_EMBEDDINGS_PREFIX}*")
        # The end-user id HMAC key: ingest hashes with it, erasure too. No other function reads it.
        self.user_id_key.secret.grant_read(api)
        # It also deletes the baseline embeddings made from the user's texts.
        api.add_to_role_policy(iam.PolicyStatement(actions=["s3:DeleteObject"], resources=[
            storage.raw_bucket.arn_for_objects("raw/*"),
            storage.raw_bucket.arn_for_objects(f"{BASELINE_EMBEDDINGS_PREFIX}*")]))
        # Erasure rewrites the golden sets too, and deletes their old versions (versioned bucket).
        storage.artifacts_bucket.grant_read(api, "golden/*")
        storage.artifacts_bucket.grant_put(api, "golden/*")
        api.add_to_role_policy(iam.PolicyStatement(actions=["s3:DeleteObject", "s3:DeleteObjectVersion"],
                                                   resources=[storage.artifacts_bucket.arn_for_objects("golden/*")]))
        storage.interactions_table.grant_read_write_data(api)
        storage.state_table.grant_read_write_data(api)
        machine.grant_start_execution(api)
        machine.grant_task_response(api)

        storage.raw_bucket.grant_read(fn["PrepareDataset"])
        storage.interactions_table.grant_read_data(fn["PrepareDataset"])
        # It marks the records each training set used on their items (functions/dataset/usage.py):
        # UpdateItem only, never a Put or Delete of an interaction.
        storage.interactions_table.grant(fn["PrepareDataset"], "dynamodb:UpdateItem")
        storage.state_table.grant_read_data(fn["PrepareDataset"])
        for prefix in ("datasets/*", "golden/*"):
            storage.artifacts_bucket.grant_read(fn["PrepareDataset"], prefix)
            storage.artifacts_bucket.grant_put(fn["PrepareDataset"], prefix)
        for name in ("Gate", "Register"):
            storage.artifacts_bucket.grant_read(fn[name], "training/*")
        for name in ("Register", "Promote", "FinishRun", "RecordFailure", "RequestApproval"):
            if name in fn:
                storage.state_table.grant_read_write_data(fn[name])
        # The canary's tasks touch the state table only: the served aggregates, the registry, canary
        # items and looks. StartCanary moves staging (a transaction of Puts), CheckCanary writes looks
        # and updates, RetireCanary deletes the staging alias (with a history Put).
        canary_actions = {"StartCanary": ("PutItem",), "CheckCanary": ("PutItem", "UpdateItem"),
                          "RetireCanary": ("PutItem", "UpdateItem", "DeleteItem")}
        for name, actions in canary_actions.items():
            if name in fn:
                storage.state_table.grant(fn[name], *(f"dynamodb:{a}" for a in ("GetItem", "Query", *actions)))
                storage.key.grant_encrypt_decrypt(fn[name])

        storage.raw_bucket.grant_read(drift)
        # The baseline sample's embeddings, stored by the first check after a freeze.
        storage.raw_bucket.grant_put(drift, f"{BASELINE_EMBEDDINGS_PREFIX}*")
        storage.state_table.grant_read_write_data(drift)
        # The window samples: the drift check reads the current one, and a promotion freezes the
        # baseline's. Query on the sample index only, not on the table (the key via the state table).
        sample_index = f"{storage.interactions_table.table_arn}/index/{storage.sample_index}"
        for reader in (drift, fn["Promote"]):
            reader.add_to_role_policy(iam.PolicyStatement(actions=["dynamodb:Query"], resources=[sample_index]))
        machine.grant_start_execution(drift)

        # The dispatcher queries the baseline index and invokes the check by name (unqualified).
        dispatch = self.drift_dispatch.function
        storage.state_table.grant(dispatch, "dynamodb:Query")
        storage.key.grant_decrypt(dispatch)
        dispatch.add_to_role_policy(iam.PolicyStatement(actions=["lambda:InvokeFunction"],
                                                        resources=[drift.function_arn]))
