"""SageMaker training jobs run by the state machine (``createTrainingJob.sync``): the role the
jobs assume, the source asset (``finetune/`` and the scorer pack), the image, and one task state
per job kind (train, evaluate).

The L2 ``SageMakerCreateTrainingJob`` task has no managed-spot or checkpoint settings, so the
task is a ``CustomState`` with the exact ``CreateTrainingJob`` request, and the grants Step
Functions needs for ``.sync`` are written here, explicitly.
"""
from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import (
    AssetHashType,
    Aws,
    BundlingOptions,
    BundlingOutput,
    DockerImage,
    Duration,
    ILocalBundling,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as assets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import training_image
from infra.components.asset_hash import content_hash, shipped_files

REPO_ROOT = Path(__file__).resolve().parents[2]
# What the training container needs: the entry points, the scorer pack they score with (the only
# code of functions/ that finetune/ may import: tests/test_import_direction.py), and
# requirements.txt, which SageMaker's training toolkit installs before running the program.
SOURCE_PATHS = ("finetune", "functions/__init__.py", "functions/scoring")
REQUIREMENTS = "finetune/requirements.txt"
# Names the archive layout in the asset hash: the toolkit reads requirements.txt at the root.
SOURCE_LAYOUT = "sourcedir.tar.gz: SOURCE_PATHS + requirements.txt at the root"
TRAINING_PREFIX = "training/"

# Instance families whose storage is EBS only: the only ones that take a VolumeKmsKeyId. SageMaker
# rejects the key on instance types with local NVMe instance storage (ResourceConfig.VolumeKmsKeyId,
# CreateTrainingJob API reference), whose volumes a hardware module encrypts instead. A family on
# neither list (one newer than these) gets no key either: SageMaker then encrypts its volume with a
# transient key, where a key the type cannot take would reject every job.
EBS_ONLY_FAMILIES = frozenset({
    "m4", "m5", "m6i", "m7i", "m7i-flex", "m8i", "m8i-flex", "c4", "c5", "c5n", "c6i", "c7i", "c7i-flex",
    "c8i", "c8i-flex", "r5", "r6i", "r7i", "r8i", "r8i-flex", "t3", "p2", "p3",
})
# Families with local NVMe instance storage (EC2 instance types guide; g7 by its G-family siblings):
# the tests hold every request on these to no VolumeKmsKeyId, and every botocore family to a list.
LOCAL_STORAGE_FAMILIES = frozenset({
    "g4dn", "g5", "g6", "g6e", "g7", "g7e", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en", "p6-b200", "p6-b300",
    "p6e-gb200", "r5d", "trn1", "trn1n", "trn2",
})


def instance_family(instance_type: str) -> str:
    """``ml.g5.xlarge`` → ``g5``."""
    return instance_type.split(".")[1]


def takes_volume_key(instance_type: str) -> bool:
    return instance_family(instance_type) in EBS_ONLY_FAMILIES


def source_files(root: Path) -> list[Path]:
    """What the source tarball ships from ``root``; the asset hash covers exactly these."""
    return shipped_files(root, SOURCE_PATHS)


def source_hash(root: Path) -> str:
    return content_hash(root, source_files(root), salt=SOURCE_LAYOUT)


@jsii.implements(ILocalBundling)
class _SourceTarball:
    """Packs the job's source from ``root`` as ``sourcedir.tar.gz``, the layout SageMaker's toolkit extracts."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def try_bundle(self, output_dir: str, *_args: Any, **_kwargs: Any) -> bool:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for path in source_files(self.root):
                tar.add(path, arcname=str(path.relative_to(self.root)), recursive=False)
            tar.add(self.root / REQUIREMENTS, arcname="requirements.txt")
        (Path(output_dir) / "sourcedir.tar.gz").write_bytes(buffer.getvalue())
        return True


class TrainingJobs(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, artifacts_bucket: s3.IBucket, key: kms.IKey,
                 image_uri: str, instance_type: str, use_spot: bool, base_model: str,
                 max_runtime: Duration = Duration.hours(6), source_root: Path = REPO_ROOT) -> None:
        """``image_uri`` empty: the training DLC of the deploy region (``infra/training_image.py``)."""
        super().__init__(scope, construct_id)
        self.artifacts_bucket = artifacts_bucket
        self.key = key
        self.image = training_image.custom_image(image_uri) if image_uri else training_image.dlc_image(self)
        self.instance_type = instance_type
        self.use_spot = use_spot
        self.base_model = base_model
        self.max_runtime = max_runtime
        # Bundled from several folders, so hashed over what the bundle ships, not over ``path``.
        self.source = assets.Asset(
            self, "Source", path=str(source_root / "finetune"),
            asset_hash_type=AssetHashType.CUSTOM, asset_hash=source_hash(source_root),
            bundling=BundlingOptions(image=DockerImage.from_registry("public.ecr.aws/docker/library/python:3.11"),
                                     local=_SourceTarball(source_root), output_type=BundlingOutput.SINGLE_FILE),
        )
        self.role = iam.Role(self, "JobRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
                             description="Assumed by driftgate's SageMaker training and evaluation jobs")
        self.source.grant_read(self.role)
        for prefix in ("datasets/*", "golden/*", f"{TRAINING_PREFIX}*"):
            artifacts_bucket.grant_read(self.role, prefix)
        artifacts_bucket.grant_put(self.role, f"{TRAINING_PREFIX}*")
        key.grant_encrypt_decrypt(self.role)
        key.grant(self.role, "kms:DescribeKey")
        # SageMaker encrypts the job's volume and output with the key through grants it creates
        # as the job role; the condition keeps those grants to AWS services.
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["kms:CreateGrant"], resources=[key.key_arn],
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}}))
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            resources=[self.image.repository_arn]))
        self.role.add_to_policy(iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]))
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            resources=[f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:/aws/sagemaker/TrainingJobs:*"]))
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["cloudwatch:PutMetricData"], resources=["*"],
            conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}}))

    def task(self, name: str, *, program: str, channels: dict[str, str], hyperparameters: dict[str, str],
             result_path: str) -> sfn.CustomState:
        """A ``createTrainingJob.sync`` task running ``program`` with S3 channels taken from the
        state input (``channels`` maps channel name → JSONPath of an S3 URI)."""
        output = f"s3://{self.artifacts_bucket.bucket_name}/{TRAINING_PREFIX}"
        max_runtime = int(self.max_runtime.to_seconds())
        request: dict[str, Any] = {
            "TrainingJobName.$": f"States.Format('dg-{name.lower()}-{{}}', States.UUID())",
            "AlgorithmSpecification": {"TrainingImage": self.image.uri, "TrainingInputMode": "File"},
            "RoleArn": self.role.role_arn,
            "HyperParameters": {
                "sagemaker_program": json.dumps(program),
                "sagemaker_submit_directory": json.dumps(self.source.s3_object_url),
                "model_name_or_path": json.dumps(self.base_model),
                **{k: json.dumps(v) for k, v in hyperparameters.items()},
            },
            "InputDataConfig": [
                {"ChannelName": channel, "DataSource": {"S3DataSource": {
                    "S3DataType": "S3Prefix", "S3Uri.$": path, "S3DataDistributionType": "FullyReplicated"}}}
                for channel, path in channels.items()
            ],
            "OutputDataConfig": {"S3OutputPath": output, "KmsKeyId": self.key.key_arn},
            "ResourceConfig": {"InstanceCount": 1, "InstanceType": self.instance_type, "VolumeSizeInGB": 50},
            "StoppingCondition": {"MaxRuntimeInSeconds": max_runtime},
            "EnableManagedSpotTraining": self.use_spot,
        }
        if takes_volume_key(self.instance_type):
            request["ResourceConfig"]["VolumeKmsKeyId"] = self.key.key_arn
        if self.use_spot:
            # Spot jobs may be interrupted: they resume from checkpoints synced to S3.
            request["StoppingCondition"]["MaxWaitTimeInSeconds"] = 2 * max_runtime
            request["CheckpointConfig"] = {"S3Uri": f"{output}checkpoints/", "LocalPath": "/opt/ml/checkpoints"}
        return sfn.CustomState(self, name, state_json={
            "Type": "Task",
            "Resource": f"arn:{Aws.PARTITION}:states:::sagemaker:createTrainingJob.sync",
            "Parameters": request,
            "ResultPath": result_path,
            "ResultSelector": {
                "TrainingJobName.$": "$.TrainingJobName",
                "ModelArtifacts.$": "$.ModelArtifacts",
                "TrainingJobStatus.$": "$.TrainingJobStatus",
            },
            "TimeoutSeconds": 2 * max_runtime + 600,
            # Throttled or briefly unavailable SageMaker APIs; a failed job itself is not retried.
            "Retry": [{"ErrorEquals": ["SageMaker.AmazonSageMakerException", "SageMaker.ThrottlingException"],
                       "IntervalSeconds": 30, "MaxAttempts": 2, "BackoffRate": 2}],
        })

    def grant_run(self, grantee: iam.IGrantable) -> None:
        """What Step Functions needs to run these jobs with ``.sync`` (AWS's documented policy)."""
        jobs = f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}:training-job/dg-*"
        iam.Grant.add_to_principal(grantee=grantee, resource_arns=[jobs], actions=[
            "sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob",
            "sagemaker:AddTags"])
        iam.Grant.add_to_principal(grantee=grantee,
                                   actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                                   resource_arns=[f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{Aws.ACCOUNT_ID}:rule/"
                                                  "StepFunctionsGetEventsForSageMakerTrainingJobsRule"])
        self.role.grant_pass_role(grantee.grant_principal)
