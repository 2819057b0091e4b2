"""A Lambda function running one of our handlers, configured the same careful way everywhere."""
from __future__ import annotations

import hashlib
import inspect
import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from importlib.metadata import Distribution, distributions
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import (
    AssetHashType,
    BundlingOptions,
    DockerImage,
    Duration,
    ILocalBundling,
    RemovalPolicy,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from functions.common.contract import METRICS_NAMESPACE, SERVICE_NAME
from functions.drift.onnx_embedder import MANIFEST_FILE
from infra.components.asset_hash import content_hash, shipped_files
from infra.embedding_model import cache as embedding_model

REPO_ROOT = Path(__file__).resolve().parents[2]
# Packages shipped in the code asset: the handlers and everything they import live in functions/
# (tests/test_import_direction.py keeps it so; finetune/ runs in SageMaker only).
CODE_PACKAGES = ("functions",)
# What the dependency layer is installed from (relative to the repository root).
LAYER_REQUIREMENTS = ("functions/requirements.txt", "functions/requirements-pure.txt")
# The drift check's embedder runtime (ONNX Runtime, tokenizers), a layer of its own.
EMBEDDING_REQUIREMENTS = "functions/requirements-embedding.txt"
# The exported embedding model's folder in its layer; Lambda unpacks layers under /opt.
EMBEDDING_MODEL_FOLDER = "embedding-model"
EMBEDDING_MODEL_DIR = f"/opt/{EMBEDDING_MODEL_FOLDER}"
RUNTIME = lambda_.Runtime.PYTHON_3_14
RUNTIME_PYTHON = RUNTIME.name.removeprefix("python")
# Lambda's Python 3.14 runs on Amazon Linux 2023 (glibc 2.34), on x86_64 like our functions.
LAYER_PLATFORMS = ("manylinux_2_28_x86_64", "manylinux2014_x86_64")
# The SDK for Python that the Lambda runtime includes. boto3 there runs on the runtime's botocore, so
# a layer copy (~30 MB, pulled in by aws-xray-sdk) would only shadow it with a version boto3 was not
# released with. What only the SDK needs (urllib3, python-dateutil) goes too; jmespath stays, as
# Powertools requires it directly.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
# Globs (under the layer's python/) of what is never imported at run time: the installed packages'
# test suites, typing stubs, and console scripts (their shebang names the build machine's Python).
LAYER_TRIMMED = ("**/tests", "**/*.pyi", "bin")


def code_files(root: Path = REPO_ROOT) -> list[Path]:
    """Every file the code asset ships: the bundler copies these, and the asset hash covers them."""
    return shipped_files(root, CODE_PACKAGES)


def code_asset(root: Path = REPO_ROOT) -> lambda_.AssetCode:
    files = code_files(root)
    return lambda_.Code.from_asset(
        str(root / "functions"), asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=content_hash(root, files, salt="lambda-code"),
        bundling=_local_bundling(_CopyFiles(root=root, files=files)),
    )


def layer_asset(root: Path = REPO_ROOT) -> lambda_.AssetCode:
    """The dependency layer, hashed over its requirements and everything else that decides what pip
    installs and what is then left out: the runtime, the platforms, what the runtime provides, what
    is trimmed, and the code doing it."""
    bundler = "".join(inspect.getsource(part) for part in (_LayerInstall, _drop_runtime_provided, _requirements, _trim))
    salt = json.dumps({"python": RUNTIME_PYTHON, "platforms": LAYER_PLATFORMS, "runtime_provided": RUNTIME_PROVIDED,
                       "trimmed": LAYER_TRIMMED, "bundler": hashlib.sha256(bundler.encode()).hexdigest()})
    return lambda_.Code.from_asset(
        str(root / "functions"), asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=content_hash(root, shipped_files(root, LAYER_REQUIREMENTS), salt=salt),
        bundling=_local_bundling(_LayerInstall(root=root)),
    )


def embedding_runtime_asset(root: Path = REPO_ROOT) -> lambda_.AssetCode:
    """ONNX Runtime and tokenizers for the Lambda platform, hashed like the dependency layer."""
    salt = json.dumps({"python": RUNTIME_PYTHON, "platforms": LAYER_PLATFORMS, "trimmed": LAYER_TRIMMED,
                       "bundler": hashlib.sha256(inspect.getsource(_WheelsInstall).encode()).hexdigest()})
    return lambda_.Code.from_asset(
        str(root / "functions"), asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=content_hash(root, shipped_files(root, [EMBEDDING_REQUIREMENTS]), salt=salt),
        bundling=_local_bundling(_WheelsInstall(root=root, requirements=EMBEDDING_REQUIREMENTS)),
    )


def embedding_model_asset(root: Path = REPO_ROOT) -> lambda_.AssetCode:
    """The exported embedding model, hashed by its fingerprint: the weights, the exporting code and
    the libraries' versions decide every byte (``infra/embedding_model/cache.py``)."""
    digest = hashlib.sha256(json.dumps({
        "fingerprint": embedding_model.fingerprint(), "folder": EMBEDDING_MODEL_FOLDER,
        "bundler": hashlib.sha256(inspect.getsource(_ModelExport).encode()).hexdigest()}).encode())
    return lambda_.Code.from_asset(
        str(root / "functions"), asset_hash_type=AssetHashType.CUSTOM, asset_hash=digest.hexdigest(),
        bundling=_local_bundling(_ModelExport()),
    )


@jsii.implements(ILocalBundling)
class _CopyFiles:
    """Bundles an asset by copying exactly ``files`` (under ``root``, at the same relative paths);
    no Docker needed."""

    def __init__(self, *, root: Path, files: Sequence[Path]) -> None:
        self.root, self.files = root, tuple(files)

    def try_bundle(self, output_dir: str, *_args: Any, **_kwargs: Any) -> bool:
        for path in self.files:
            target = Path(output_dir) / path.relative_to(self.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        return True


@jsii.implements(ILocalBundling)
class _LayerInstall:
    """Bundles the dependency layer with pip, fetching wheels built for the Lambda platform, then
    leaves out what the runtime provides and what is never imported."""

    def __init__(self, *, root: Path) -> None:
        self.root = root

    def try_bundle(self, output_dir: str, *_args: Any, **_kwargs: Any) -> bool:
        target = Path(output_dir) / "python"
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--target", str(target)]
        binary, pure = (str(self.root / path) for path in LAYER_REQUIREMENTS)
        platforms = [arg for platform in LAYER_PLATFORMS for arg in ("--platform", platform)]
        subprocess.run([*pip, "-r", binary, *platforms, "--implementation", "cp",
                        "--python-version", RUNTIME_PYTHON, "--only-binary=:all:"], check=True)
        # sdist-only pure-Python packages: their dependencies are pinned in requirements.txt.
        subprocess.run([*pip, "--no-deps", "-r", pure], check=True)
        _drop_runtime_provided(target, requirement_files=[self.root / path for path in LAYER_REQUIREMENTS])
        _trim(target)
        _remove_empty_dirs(target)
        return True


@jsii.implements(ILocalBundling)
class _WheelsInstall:
    """Bundles exactly the pinned wheels of ``requirements`` for the Lambda platform, without their
    dependencies (what they import at run time besides numpy, from the dependency layer, is in the
    wheels themselves; tests/infra/test_cli_synth.py imports and runs them with only the layers)."""

    def __init__(self, *, root: Path, requirements: str) -> None:
        self.root, self.requirements = root, requirements

    def try_bundle(self, output_dir: str, *_args: Any, **_kwargs: Any) -> bool:
        target = Path(output_dir) / "python"
        platforms = [arg for platform in LAYER_PLATFORMS for arg in ("--platform", platform)]
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--no-deps",
                        "--target", str(target), "-r", str(self.root / self.requirements), *platforms,
                        "--implementation", "cp", "--python-version", RUNTIME_PYTHON, "--only-binary=:all:"],
                       check=True)
        _trim(target)
        _remove_empty_dirs(target)
        return True


@jsii.implements(ILocalBundling)
class _ModelExport:
    """Bundles the exported embedding model (exported first if this fingerprint has no export yet:
    torch runs here, at synth time, never in Lambda)."""

    def try_bundle(self, output_dir: str, *_args: Any, **_kwargs: Any) -> bool:
        source = embedding_model.ensure_exported()
        target = Path(output_dir) / EMBEDDING_MODEL_FOLDER
        target.mkdir(parents=True)
        for path in sorted(source.iterdir()):
            shutil.copy2(path, target / path.name)
        if not (target / MANIFEST_FILE).is_file():
            raise FileNotFoundError(f"{source} holds no {MANIFEST_FILE}")
        return True


def _drop_runtime_provided(target: Path, *, requirement_files: Sequence[Path]) -> list[str]:
    """Removes ``RUNTIME_PROVIDED`` from a ``pip install --target`` tree, with the distributions that
    only they required and no requirements file names; answers the names removed."""
    installed: dict[str, Distribution] = {canonicalize_name(d.metadata["Name"]): d
                                          for d in distributions(path=[str(target)])}
    named = [Requirement(line) for path in requirement_files for line in _requirement_lines(path)]
    # The extras anything asks for: the only ones whose requirements pip installed.
    extras: dict[str, set[str]] = {}
    for requirement in [*named, *(Requirement(line) for d in installed.values() for line in d.requires or [])]:
        extras.setdefault(canonicalize_name(requirement.name), set()).update(requirement.extras)
    requires: dict[str, set[str]] = {name: _requirements(dist, extras.get(name, set()))
                                     for name, dist in installed.items()}
    keep = {canonicalize_name(requirement.name) for requirement in named}
    dropped = set(RUNTIME_PROVIDED) & installed.keys()
    while True:
        kept = installed.keys() - dropped
        needed = keep.union(*(requires[name] for name in kept))
        orphans = (set().union(*(requires[name] for name in dropped)) & kept) - needed
        if not orphans:
            break
        dropped |= orphans
    root = target.resolve()
    for name in dropped:
        for file in installed[name].files or []:
            path = Path(str(installed[name].locate_file(file))).resolve()
            if path.is_relative_to(root):  # RECORD also lists console scripts, outside a --target tree
                path.unlink(missing_ok=True)
    return sorted(dropped)


def _requirement_lines(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("-")]


def _requirements(dist: Distribution, extras: set[str]) -> set[str]:
    """What ``dist`` requires on the Lambda runtime, with ``extras`` installed."""
    environment = {"python_version": RUNTIME_PYTHON, "python_full_version": f"{RUNTIME_PYTHON}.0",
                   "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64",
                   "os_name": "posix", "implementation_name": "cpython",
                   "platform_python_implementation": "CPython"}
    names: set[str] = set()
    for line in dist.requires or []:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker is None or any(marker.evaluate({**environment, "extra": extra}) for extra in ["", *extras]):
            names.add(canonicalize_name(requirement.name))
    return names


def _trim(target: Path) -> None:
    """Removes what ``LAYER_TRIMMED`` matches from an installed tree."""
    for pattern in LAYER_TRIMMED:
        for path in sorted(target.glob(pattern)):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            elif path.exists():
                path.unlink()


def _remove_empty_dirs(target: Path) -> None:
    for path in sorted((p for p in target.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(path.iterdir()):
            path.rmdir()


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
            code=layer_asset(),
            compatible_runtimes=[RUNTIME],
            description="driftgate handler dependencies (functions/requirements.txt)",
        )


class EmbeddingLayers(Construct):
    """The drift check's embedder: ONNX Runtime and tokenizers (``functions/requirements-embedding.txt``),
    and the exported model (``EMBEDDING_MODEL_DIR`` in Lambda)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.runtime = lambda_.LayerVersion(
            self, "Runtime", code=embedding_runtime_asset(), compatible_runtimes=[RUNTIME],
            description="driftgate embedder runtime (functions/requirements-embedding.txt)",
        )
        self.model = lambda_.LayerVersion(
            self, "Model", code=embedding_model_asset(), compatible_runtimes=[RUNTIME],
            description="driftgate embedding model: all-MiniLM-L6-v2, ONNX, int8 weights",
        )
        self.layers: list[lambda_.ILayerVersion] = [self.runtime, self.model]


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
        layer: lambda_.ILayerVersion,
        extra_layers: Sequence[lambda_.ILayerVersion] = (),
        environment: dict[str, str] | None = None,
        timeout: Duration = Duration.seconds(30),
        memory_size: int = 512,
    ) -> None:
        """``layer``: the dependency layer; ``extra_layers``: what only this function needs (the drift
        check's embedder)."""
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.THREE_MONTHS, removal_policy=RemovalPolicy.DESTROY
        )
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self, "Function", runtime=RUNTIME, handler=handler, layers=[layer, *extra_layers],
            code=code_asset(),
            role=self.role,
            description=description,
            timeout=timeout,
            memory_size=memory_size,
            architecture=lambda_.Architecture.X86_64,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            environment={
                "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                **(environment or {}),
            },
        )
