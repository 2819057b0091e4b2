"""A Lambda function running one of our handlers, configured the same careful way everywhere."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, DockerImage, Duration, IgnoreMode, ILocalBundling, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

REPO_ROOT = Path(__file__).resolve().parents[2]
# Packages shipped in the code asset: handlers live in functions/, and PrepareDataset reuses
# finetune.data (pure Python; the torch-heavy modules are never imported in Lambda).
CODE_PACKAGES = ("functions", "finetune")
RUNTIME = lambda_.Runtime.PYTHON_3_14
METRICS_NAMESPACE = "Driftgate"


@jsii.implements(ILocalBundling)
class _CopyPackages:
    """Bundles the code asset by copying our packages; no Docker needed."""

    def try_bundle(self, output_dir: str, *_args: Any, **_kwargs: Any) -> bool:
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "tests")
        for package in CODE_PACKAGES:
            shutil.copytree(REPO_ROOT / package, Path(output_dir) / package, ignore=ignore, dirs_exist_ok=True)
        return True


@jsii.implements(ILocalBundling)
class _PipInstallForLambda:
    """Bundles the dependency layer with pip, fetching wheels built for the Lambda platform."""

    def try_bundle(self, output_dir: str, *_args: Any, **_kwargs: Any) -> bool:
        target = str(Path(output_dir) / "python")
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--target", target]
        subprocess.run(
            [
                *pip, "-r", str(REPO_ROOT / "functions" / "requirements.txt"),
                # Lambda's Python 3.14 runs on Amazon Linux 2023 (glibc 2.34).
                "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux2014_x86_64", "--implementation", "cp",
                "--python-version", RUNTIME.name.removeprefix("python"), "--only-binary=:all:",
            ],
            check=True,
        )
        # sdist-only pure-Python packages: their dependencies are pinned in requirements.txt.
        subprocess.run([*pip, "--no-deps", "-r", str(REPO_ROOT / "functions" / "requirements-pure.txt")], check=True)
        return True


def _local_bundling(local: Any) -> BundlingOptions:
    # The image is only a fallback that local bundling makes unused.
    return BundlingOptions(image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.14"), local=local)


class DependenciesLayer(Construct):
    """The third-party libraries every handler imports (Powertools, pydantic, numpy...)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=lambda_.Code.from_asset(
                str(REPO_ROOT / "functions"),
                exclude=["**", "!requirements*.txt"],
                bundling=_local_bundling(_PipInstallForLambda()),
            ),
            compatible_runtimes=[RUNTIME],
            description="driftgate handler dependencies (functions/requirements.txt)",
        )


class HandlerFunction(Construct):
    """A Python Lambda with Powertools settings, X-Ray, bounded timeout and memory, its own log group
    and a role that starts with nothing but writing its own logs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        description: str,
        layer: lambda_.ILayerVersion | None = None,
        dockerfile: str | None = None,
        environment: dict[str, str] | None = None,
        timeout: Duration = Duration.seconds(30),
        memory_size: int = 512,
    ) -> None:
        """``dockerfile`` (relative to the repository root) makes it a container-image function,
        for handlers whose dependencies do not fit a layer; otherwise ``layer`` is required."""
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.THREE_MONTHS, removal_policy=RemovalPolicy.DESTROY
        )
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        self.log_group.grant_write(self.role)
        common = dict(
            role=self.role,
            description=description,
            timeout=timeout,
            memory_size=memory_size,
            architecture=lambda_.Architecture.X86_64,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            environment={
                "POWERTOOLS_SERVICE_NAME": "driftgate",
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                **(environment or {}),
            },
        )
        if dockerfile:
            # The image's CMD names the handler; the build context is only what the image copies.
            code = lambda_.DockerImageCode.from_image_asset(
                str(REPO_ROOT), file=dockerfile, cmd=[handler], ignore_mode=IgnoreMode.DOCKER,
                exclude=["*", "!functions", "!functions/**", "**/__pycache__", "functions/**/tests"],
            )
            self.function: lambda_.Function = lambda_.DockerImageFunction(self, "Function", code=code, **common)
        else:
            if layer is None:
                raise ValueError(f"{construct_id}: a zip function needs the dependency layer")
            self.function = lambda_.Function(
                self, "Function", runtime=RUNTIME, handler=handler, layers=[layer],
                code=lambda_.Code.from_asset(str(REPO_ROOT / "functions"), bundling=_local_bundling(_CopyPackages())),
                **common,
            )
