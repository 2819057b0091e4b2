"""Where interactions, scores, adapters and the registry are kept."""
from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

RAW_PREFIX = "raw/"  # functions/interactions/raw.py's raw_key
IA_AFTER_DAYS = 30


class Storage(Construct):
    """A customer-managed KMS key, the S3 buckets (raw interactions, artifacts, access logs) and
    the DynamoDB tables (interactions and scores; state: windows, registry, locks)."""

    def __init__(self, scope: Construct, construct_id: str, *, raw_text_retention_days: int) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self, "DataKey", enable_key_rotation=True, description="driftgate data at rest",
            removal_policy=RemovalPolicy.RETAIN,
        )
        # S3 server access logs cannot be delivered to a KMS-encrypted bucket: SSE-S3 here.
        self.access_logs_bucket = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.raw_bucket = self._data_bucket(
            "RawInteractions",
            versioned=False,
            lifecycle_rules=[
                # Data minimisation: the raw interactions (the only copy of their prompts, outputs and
                # references) expire once the drift windows and the dataset window are past them;
                # scores, metadata and aggregates stay in DynamoDB. The frozen baseline's copy of its
                # sample (baselines/) has no expiration: it is replaced by the next freeze.
                s3.LifecycleRule(
                    id="RawText", prefix=RAW_PREFIX, expiration=Duration.days(raw_text_retention_days),
                    # Infrequent Access bills 30 days at least: only for objects that stay 30 more.
                    transitions=[s3.Transition(storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                                               transition_after=Duration.days(IA_AFTER_DAYS))]
                    if raw_text_retention_days >= 2 * IA_AFTER_DAYS else None,
                ),
                s3.LifecycleRule(id="AbortUploads", abort_incomplete_multipart_upload_after=Duration.days(7)),
            ],
        )
        # Adapters are versions: S3 versioning keeps every write recoverable. The raw bucket is not
        # versioned on purpose: an erasure's rewrite of an object must leave no old version behind.
        self.artifacts_bucket = self._data_bucket(
            "Artifacts",
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    noncurrent_version_expiration=Duration.days(90),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
        )
        self.interactions_table = self._table(
            "Interactions",
            partition_key="request_id",
            sort_key=None,
        )
        # Right to erasure: one user's interactions without a scan. Sparse (only items with a
        # metadata user id; tombstones have none), projecting what the erasure needs per item.
        self.user_index = "by-user"
        self.interactions_table.add_global_secondary_index(
            index_name=self.user_index,
            partition_key=dynamodb.Attribute(name="user_id", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.INCLUDE,
            non_key_attributes=["raw_key", "model", "window"],
        )
        # Each window's uniform sample for the drift check, with no sample item to rewrite: every
        # interaction carries its window shard and a hash rank of its request id, and the index,
        # sorted by rank, gives each shard's bottom-k in one Query (functions/interactions/shards.py).
        # Sparse like the other: tombstones carry neither key, so an erased record leaves the sample.
        self.sample_index = "by-sample"
        self.interactions_table.add_global_secondary_index(
            index_name=self.sample_index,
            partition_key=dynamodb.Attribute(name="sample_pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sample_rank", type=dynamodb.AttributeType.NUMBER),
            projection_type=dynamodb.ProjectionType.INCLUDE,
            non_key_attributes=["raw_key"],
        )
        self.state_table = self._table("State", partition_key="pk", sort_key="sk")

    def _data_bucket(self, construct_id: str, *, versioned: bool, lifecycle_rules: list[s3.LifecycleRule]) -> s3.Bucket:
        return s3.Bucket(
            self,
            construct_id,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            versioned=versioned,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix=f"{construct_id.lower()}/",
            lifecycle_rules=lifecycle_rules,
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _table(self, construct_id: str, *, partition_key: str, sort_key: str | None) -> dynamodb.Table:
        return dynamodb.Table(
            self,
            construct_id,
            partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=sort_key, type=dynamodb.AttributeType.STRING) if sort_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute="expires_at",
            removal_policy=RemovalPolicy.RETAIN,
        )
