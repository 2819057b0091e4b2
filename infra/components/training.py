"""SageMaker training jobs run by the state machine (``createTrainingJob.sync``): the role the
jobs assume, the ``finetune/`` source asset, and one task state per job kind (train, evaluate).

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
from aws_cdk import Aws, BundlingOptions, BundlingOutput, DockerImage, Duration, ILocalBundling, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as assets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

REPO_ROOT = Path(__file__).resolve().parents[2]
# What the training container needs: the entry points, the scorer pack they score with, and
# requirements.txt, which SageMaker's training toolkit installs before running the program.
SOURCE_PATHS = ("finetune", "functions/__init__.py", "functions/scoring")
DLC_ACCOUNT = "763104351884"  # AWS Deep Learning Containers
TRAINING_PREFIX = "training/"


@jsii.implements(ILocalBundling)
class _SourceTarball:
    """Packs the job's source as ``sourcedir.tar.gz``, the layout SageMaker's toolkit extracts."""

    def try_bundle(self, output_dir: str, *_args: Any, **_kwargs: Any) -> bool:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for relative in SOURCE_PATHS:
                tar.add(REPO_ROOT / relative, arcname=relative,
                        filter=lambda info: None if "__pycache__" in info.name else info)
            tar.add(REPO_ROOT / "finetune" / "requirements.txt", arcname="requirements.txt")
        (Path(output_dir) / "sourcedir.tar.gz").write_bytes(buffer.getvalue())
        return True


class TrainingJobs(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, artifacts_bucket: s3.IBucket, key: kms.IKey,
                 image_uri: str, instance_type: str, use_spot: bool, base_model: str,
                 max_runtime: Duration = Duration.hours(6)) -> None:
        super().__init__(scope, construct_id)
        self.artifacts_bucket = artifacts_bucket
        self.key = key
        self.image_uri = image_uri
        self.instance_type = instance_type
        self.use_spot = use_spot
        self.base_model = base_model
        self.max_runtime = max_runtime
        self.source = assets.Asset(
            self, "Source", path=str(REPO_ROOT / "finetune"),
            bundling=BundlingOptions(image=DockerImage.from_registry("public.ecr.aws/docker/library/python:3.11"),
                                     local=_SourceTarball(), output_type=BundlingOutput.SINGLE_FILE),
        )
        self.role = iam.Role(self, "JobRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
                             description="Assumed by driftgate's SageMaker training and evaluation jobs")
        self.source.grant_read(self.role)
        for prefix in ("datasets/*", "golden/*", f"{TRAINING_PREFIX}*"):
            artifacts_bucket.grant_read(self.role, prefix)
        artifacts_bucket.grant_put(self.role, f"{TRAINING_PREFIX}*")
        key.grant_encrypt_decrypt(self.role)
        stack = Stack.of(self)
        repository = image_uri.split("/", 1)[1].split(":", 1)[0] if "/" in image_uri else image_uri
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            resources=[f"arn:{Aws.PARTITION}:ecr:{stack.region}:{DLC_ACCOUNT}:repository/{repository}"]))
        self.role.add_to_policy(iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]))
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            resources=[f"arn:{Aws.PARTITION}:logs:{stack.region}:{stack.account}:log-group:/aws/sagemaker/TrainingJobs:*"]))
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
            "AlgorithmSpecification": {"TrainingImage": self.image_uri, "TrainingInputMode": "File"},
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
            "ResourceConfig": {"InstanceCount": 1, "InstanceType": self.instance_type, "VolumeSizeInGB": 50,
                               "VolumeKmsKeyId": self.key.key_arn},
            "StoppingCondition": {"MaxRuntimeInSeconds": max_runtime},
            "EnableManagedSpotTraining": self.use_spot,
        }
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
        stack = Stack.of(self)
        jobs = f"arn:{Aws.PARTITION}:sagemaker:{stack.region}:{stack.account}:training-job/dg-*"
        iam.Grant.add_to_principal(grantee=grantee, resource_arns=[jobs], actions=[
            "sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob",
            "sagemaker:AddTags"])
        iam.Grant.add_to_principal(grantee=grantee, actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                                   resource_arns=[f"arn:{Aws.PARTITION}:events:{stack.region}:{stack.account}:rule/"
                                                  "StepFunctionsGetEventsForSageMakerTrainingJobsRule"])
        self.role.grant_pass_role(grantee)
