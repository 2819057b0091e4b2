"""The SageMaker jobs the state machine starts would be accepted by AWS, and their image and Python
packages fit together.

Every ``createTrainingJob.sync`` task's ``Parameters`` are checked against botocore's own model of
``CreateTrainingJob``: as synthesized (each ``Key.$`` names a real member and holds a JSONPath or
intrinsic) and as resolved for a job (CloudFormation intrinsics and JSONPaths replaced by what a
deployment in a sample account would hold), with botocore's validator plus the enum, length and
pattern checks it skips. Then the documented rules the model cannot say: no ``VolumeKmsKeyId`` on
instance types with local NVMe storage, and a job role that may use the key. The instance types
are every one the settings accept. Last, the job's requirements resolve with the image's torch and
Python, and the source asset's hash follows every file it ships.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from aws_cdk import App, Aws, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from botocore.model import Shape
from botocore.validate import validate_parameters

from driftgate.local.intrinsics import Resolver
from infra import training_image
from infra.components.training import (
    EBS_ONLY_FAMILIES,
    LOCAL_STORAGE_FAMILIES,
    REPO_ROOT,
    REQUIREMENTS,
    TrainingJobs,
    _SourceTarball,
    instance_family,
    source_files,
    source_hash,
)
from infra.settings import Settings, training_instance_types

SAMPLE_REGION, SAMPLE_ACCOUNT = "eu-west-1", "123456789012"
TRAINING_TASKS = {"Train", "EvaluateVsChampion", "EvaluateVsBase"}
DEFAULT_INSTANCE_TYPE = Settings().training_instance_type
PARTITIONS = {"cn-": ("aws-cn", "amazonaws.com.cn")}  # region prefix -> (partition, URL suffix); else aws


@cache
def create_training_job() -> Shape:
    model = botocore.session.get_session().get_service_model("sagemaker")
    return model.operation_model("CreateTrainingJob").input_shape


def partition_of(region: str) -> tuple[str, str]:
    return next((value for prefix, value in PARTITIONS.items() if region.startswith(prefix)),
                ("aws", "amazonaws.com"))


# --------------------------------------------------------------------------- the model's checks


@cache
def _pattern(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:  # Java-only syntax (\p{Alnum}): botocore does not check it either
        return None


def shape_errors(value: Any, shape: Shape, path: str = "", *, templated: bool = False) -> list[str]:
    """What botocore's validator leaves out (enums, maximum lengths, patterns), with required
    members and types. ``templated``: Step Functions' ``Key.$`` fields stand for ``Key``."""
    errors: list[str] = []
    metadata = shape.metadata
    if shape.type_name == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {value!r}"]
        given = set()
        for key, item in value.items():
            name = key[:-2] if templated and key.endswith(".$") else key
            given.add(name)
            if name not in shape.members:
                errors.append(f"{path}.{key}: not a member of {shape.name}")
            elif name != key:
                if not (isinstance(item, str) and item.startswith(("$", "States."))):
                    errors.append(f"{path}.{key}: a JSONPath or intrinsic function, got {item!r}")
            else:
                errors += shape_errors(item, shape.members[name], f"{path}.{name}", templated=templated)
        errors += [f"{path}.{name}: required" for name in shape.required_members if name not in given]
        return errors
    if shape.type_name in ("list", "map"):
        if not isinstance(value, list if shape.type_name == "list" else dict):
            return [f"{path}: expected a {shape.type_name}, got {value!r}"]
        if not metadata.get("min", 0) <= len(value) <= metadata.get("max", len(value)):
            errors.append(f"{path}: {len(value)} items, outside [{metadata.get('min')}, {metadata.get('max')}]")
        if shape.type_name == "list":
            for index, item in enumerate(value):
                errors += shape_errors(item, shape.member, f"{path}[{index}]", templated=templated)
        else:
            for key, item in value.items():
                errors += shape_errors(key, shape.key, f"{path}{{key {key!r}}}")
                errors += shape_errors(item, shape.value, f"{path}[{key!r}]", templated=templated)
        return errors
    if shape.type_name == "string":
        if not isinstance(value, str):
            return [f"{path}: expected a string, got {value!r}"]
        if shape.enum and value not in shape.enum:
            errors.append(f"{path}: {value!r} is not one of {shape.name}'s {len(shape.enum)} values")
        if not metadata.get("min", 0) <= len(value) <= metadata.get("max", len(value)):
            errors.append(f"{path}: length {len(value)} outside [{metadata.get('min')}, {metadata.get('max')}]")
        pattern = _pattern(metadata["pattern"]) if "pattern" in metadata else None
        if pattern and not pattern.fullmatch(value):
            errors.append(f"{path}: {value!r} does not match {metadata['pattern']!r}")
        return errors
    if shape.type_name in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"{path}: expected an integer, got {value!r}"]
        if not metadata.get("min", value) <= value <= metadata.get("max", value):
            errors.append(f"{path}: {value} outside [{metadata.get('min')}, {metadata.get('max')}]")
        return errors
    if shape.type_name == "boolean" and not isinstance(value, bool):
        return [f"{path}: expected a boolean, got {value!r}"]
    return errors


def test_shape_errors_catch_what_botocore_lets_through() -> None:
    """The walker is what makes the enum and length checks real: botocore accepts these."""
    resource_config = create_training_job().members["ResourceConfig"]
    wrong = {"InstanceType": "ml.g5.huge", "InstanceCount": 1, "VolumeKmsKeyId": "k" * 2049}
    validate_parameters(wrong, resource_config)
    errors = shape_errors(wrong, resource_config)
    assert len(errors) == 2 and "InstanceType" in errors[0] and "VolumeKmsKeyId" in errors[1]
    name = create_training_job().members["TrainingJobName"]
    assert shape_errors("dg-" + "x" * 61, name) and shape_errors("dg_train", name) and not shape_errors("dg-1", name)


# --------------------------------------------------------------------------- resolving a job


@dataclass
class SampleResolver(Resolver):
    """Physical names and ARNs a deployment in a sample account would give each resource."""

    partition: str = "aws"
    url_suffix: str = "amazonaws.com"
    types: dict[str, str] | None = None  # logical id -> resource type

    def pseudo(self) -> dict[str, str | None]:
        return {**super().pseudo(), "AWS::Partition": self.partition, "AWS::URLSuffix": self.url_suffix}

    def _name(self, logical_id: str) -> str:
        return f"driftgate-{logical_id.lower()}"[:63]

    def ref(self, name: str) -> Any:
        if name in self.pseudo() or not self.types or name not in self.types:
            return super().ref(name)
        kind = self.types[name]
        return str(uuid.uuid5(uuid.NAMESPACE_OID, name)) if kind == "AWS::KMS::Key" else self._name(name)

    def get_att(self, logical_id: str, attribute: str) -> Any:
        if not self.types or logical_id not in self.types or attribute != "Arn":
            return super().get_att(logical_id, attribute)
        kind, name, p = self.types[logical_id], self.ref(logical_id), self.partition
        return {
            "AWS::KMS::Key": f"arn:{p}:kms:{self.region}:{self.account}:key/{name}",
            "AWS::IAM::Role": f"arn:{p}:iam::{self.account}:role/{name}",
            "AWS::S3::Bucket": f"arn:{p}:s3:::{name}",
            "AWS::Lambda::Function": f"arn:{p}:lambda:{self.region}:{self.account}:function:{name}",
        }.get(kind, f"arn:{p}:{kind.split('::')[1].lower()}:{self.region}:{self.account}:{name}")


def resolver_for(template: dict[str, Any], region: str = SAMPLE_REGION) -> SampleResolver:
    partition, suffix = partition_of(region)
    return SampleResolver(region=region, account=SAMPLE_ACCOUNT, mappings=template.get("Mappings", {}),
                          partition=partition, url_suffix=suffix,
                          types={logical_id: r["Type"] for logical_id, r in template["Resources"].items()})


def definition(template: dict[str, Any], resolver: SampleResolver | None = None) -> dict[str, Any]:
    """The state machine definition, its intrinsics resolved by ``resolver`` (else JSON-dumped in place)."""
    (machine,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    return json.loads("".join(part if isinstance(part, str)
                              else str(resolver.resolve(part)) if resolver else json.dumps(part).replace('"', "'")
                              for part in parts))


def training_requests(states: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: state["Parameters"] for name, state in states["States"].items()
            if state.get("Resource", "").endswith(":states:::sagemaker:createTrainingJob.sync")}


RUN_ID = str(uuid.uuid4())


def sample_state(bucket: str) -> dict[str, Any]:
    """The state input a training task sees: PrepareDataset's result and, for evaluation, Train's."""
    dataset = f"s3://{bucket}/datasets/support-bot/{RUN_ID}"
    champion, challenger = (f"s3://{bucket}/training/dg-train-{uuid.uuid4()}/output/model.tar.gz" for _ in "12")
    return {"model": "support-bot",
            "dataset": {"enough": True, "train_uri": f"{dataset}/train/", "eval_uri": f"{dataset}/eval/",
                        "golden_uri": f"s3://{bucket}/golden/support-bot/",
                        "champion": {"version": 1, "s3_uri": champion}},
            "training": {"ModelArtifacts": {"S3ModelArtifacts": challenger}}}


_FORMAT = re.compile(r"States\.Format\('(?P<template>[^']*)'(?P<args>.*)\)")


def evaluate(expression: str, state: dict[str, Any]) -> Any:
    """A JSONPath into ``state``, or ``States.Format`` over ``States.UUID()`` and JSONPaths."""
    if expression.startswith("$."):
        value: Any = state
        for part in expression[2:].split("."):
            value = value[part]
        return value
    match = _FORMAT.fullmatch(expression)
    if not match:
        raise NotImplementedError(f"cannot evaluate {expression!r} yet: extend evaluate()")
    text = match["template"]
    for arg in (a.strip() for a in match["args"].split(",") if a.strip()):
        text = text.replace("{}", str(uuid.uuid4()) if arg == "States.UUID()" else str(evaluate(arg, state)), 1)
    return text


def resolve_paths(value: Any, state: dict[str, Any]) -> Any:
    """Each ``Key.$`` field replaced by ``Key`` and what its expression evaluates to for ``state``."""
    if isinstance(value, dict):
        return {key[:-2] if key.endswith(".$") else key:
                evaluate(item, state) if key.endswith(".$") else resolve_paths(item, state)
                for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_paths(item, state) for item in value]
    return value


def resolved_job(request: dict[str, Any]) -> dict[str, Any]:
    bucket = request["OutputDataConfig"]["S3OutputPath"].split("/")[2]
    return resolve_paths(request, sample_state(bucket))


def assert_accepted(job: dict[str, Any]) -> None:
    validate_parameters(job, create_training_job())  # raises ParamValidationError
    assert shape_errors(job, create_training_job()) == []


# --------------------------------------------------------------------------- the stack's requests


@pytest.fixture(scope="module")
def template_json(template) -> dict[str, Any]:
    return template.to_json()


@pytest.fixture(scope="module")
def requests(template_json) -> dict[str, dict[str, Any]]:
    return training_requests(definition(template_json, resolver_for(template_json)))


def test_every_training_task_is_checked(requests) -> None:
    assert set(requests) == TRAINING_TASKS


@pytest.mark.parametrize("task", sorted(TRAINING_TASKS))
def test_synthesized_request_fits_the_model(requests, task) -> None:
    request = requests[task]
    assert any(key.endswith(".$") for key in request)  # the templated form, not yet a job
    assert shape_errors(request, create_training_job(), templated=True) == []


@pytest.mark.parametrize("task", sorted(TRAINING_TASKS))
def test_resolved_request_is_accepted(requests, task) -> None:
    job = resolved_job(requests[task])
    assert_accepted(job)
    assert job["TrainingJobName"].startswith(f"dg-{task.lower()}-")
    assert job["ResourceConfig"]["InstanceType"] == DEFAULT_INSTANCE_TYPE
    assert job["AlgorithmSpecification"]["TrainingImage"] == (
        f"763104351884.dkr.ecr.{SAMPLE_REGION}.amazonaws.com/{training_image.REPOSITORY}:{training_image.TAG}")


def test_requests_name_no_region_or_account(template_json) -> None:
    """Every region and account in a request comes from AWS::Region, AWS::AccountId or the DLC mapping."""
    text = json.dumps(training_requests(definition(template_json)))
    assert not [r for r in training_image.REGISTRY_ACCOUNTS if r in text]
    # An account stands alone (":123456789012:", "-123456789012-"); twelve digits inside an asset's
    # hex hash are not one (a hash with such a run failed this test once).
    assert not re.findall(r"(?<![0-9A-Za-z])\d{12}(?![0-9A-Za-z])", text)


# --------------------------------------------------------------------------- every instance type


@pytest.fixture(scope="module")
def bare_app() -> App:
    return App(context={"aws:cdk:bundling-stacks": []})


def bare_request(app: App, instance_type: str, **kwargs: Any) -> tuple[TrainingJobs, dict[str, Any]]:
    """A Train request from a stack holding only what TrainingJobs needs, with literal ARNs. Each
    stack names its constructs alike, so two such requests differ only where their settings do."""
    stack = Stack(app, f"Bare{len(app.node.children)}")
    key_arn = f"arn:aws:kms:{SAMPLE_REGION}:{SAMPLE_ACCOUNT}:key/{uuid.uuid5(uuid.NAMESPACE_OID, 'key')}"
    jobs = TrainingJobs(stack, "Training", artifacts_bucket=s3.Bucket.from_bucket_name(stack, "Artifacts", "artifacts"),
                        key=kms.Key.from_key_arn(stack, "Key", key_arn), image_uri=kwargs.pop("image_uri", ""),
                        instance_type=instance_type, use_spot=True, base_model="Qwen/Qwen2.5-0.5B-Instruct", **kwargs)
    task = jobs.task("Train", program="finetune/train.py", result_path="$.training", hyperparameters={},
                     channels={"train": "$.dataset.train_uri"})
    return jobs, stack.resolve(task.to_state_json())["Parameters"]


def test_every_family_is_classified() -> None:
    """A botocore that knows a new family fails here until someone looks up its instance storage."""
    families = {instance_family(t) for t in training_instance_types()}
    assert not EBS_ONLY_FAMILIES & LOCAL_STORAGE_FAMILIES
    assert families - EBS_ONLY_FAMILIES - LOCAL_STORAGE_FAMILIES == set()


@pytest.mark.parametrize("instance_type", sorted(set(training_instance_types())))
def test_request_for_every_instance_type(requests, bare_app, instance_type) -> None:
    _, bare = bare_request(bare_app, instance_type)
    _, default = bare_request(bare_app, DEFAULT_INSTANCE_TYPE)
    # The instance type reaches the request through ResourceConfig alone, so the stack's own
    # (resolved) request with this ResourceConfig is the request the stack would send.
    assert {k: v for k, v in bare.items() if k != "ResourceConfig"} == \
           {k: v for k, v in default.items() if k != "ResourceConfig"}
    resources = bare["ResourceConfig"]
    job = resolved_job({**requests["Train"], "ResourceConfig": resources})
    if "VolumeKmsKeyId" in resources:
        job["ResourceConfig"]["VolumeKmsKeyId"] = job["OutputDataConfig"]["KmsKeyId"]  # the same key
    assert_accepted(job)
    assert resources["InstanceType"] == instance_type
    local_storage = instance_family(instance_type) in LOCAL_STORAGE_FAMILIES
    assert ("VolumeKmsKeyId" in resources) == (not local_storage), (
        "SageMaker rejects a VolumeKmsKeyId on instance types with local NVMe storage; EBS volumes take the key")


def test_default_instance_type_has_local_storage_and_no_volume_key(requests) -> None:
    assert instance_family(DEFAULT_INSTANCE_TYPE) in LOCAL_STORAGE_FAMILIES
    assert all("VolumeKmsKeyId" not in r["ResourceConfig"] and r["OutputDataConfig"]["KmsKeyId"]
               for r in requests.values())


# --------------------------------------------------------------------------- the job role


def role_statements(template: dict[str, Any], resolver: SampleResolver, role_arn: str) -> list[dict[str, Any]]:
    """The resolved statements of every identity policy attached to the role with ``role_arn``."""
    (role,) = [logical_id for logical_id, kind in resolver.types.items()
               if kind == "AWS::IAM::Role" and resolver.get_att(logical_id, "Arn") == role_arn]
    return [statement for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy"
            and {"Ref": role} in r["Properties"].get("Roles", [])
            for statement in resolver.resolve(r["Properties"]["PolicyDocument"])["Statement"]]


def allows(statements: list[dict[str, Any]], action: str, resource: str) -> list[dict[str, Any]]:
    """The Allow statements granting ``action`` on ``resource`` (wildcards in actions as IAM reads them)."""
    def listed(value: Any) -> list[Any]:
        return value if isinstance(value, list) else [value]
    return [s for s in statements if s["Effect"] == "Allow"
            and any(re.fullmatch(re.escape(a).replace(r"\*", ".*"), action) for a in listed(s["Action"]))
            and resource in listed(s["Resource"])]


def test_job_role_may_use_the_key(template_json, requests) -> None:
    resolver = resolver_for(template_json)
    for request in requests.values():
        statements = role_statements(template_json, resolver, request["RoleArn"])
        keys = {request["OutputDataConfig"]["KmsKeyId"], request["ResourceConfig"].get("VolumeKmsKeyId")} - {None}
        for key in keys:
            for action in ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"):
                assert allows(statements, action, key), action
            (grant,) = allows(statements, "kms:CreateGrant", key)
            assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
        # Identity policies count only where the key policy hands the key to the account's IAM.
        for key in keys:
            (key_id,) = [i for i, kind in resolver.types.items()
                         if kind == "AWS::KMS::Key" and resolver.get_att(i, "Arn") == key]
            policy = resolver.resolve(template_json["Resources"][key_id]["Properties"]["KeyPolicy"])
            assert [s for s in policy["Statement"] if s.get("Action") == "kms:*"
                    and s["Principal"] == {"AWS": f"arn:aws:iam::{SAMPLE_ACCOUNT}:root"}]


@pytest.mark.parametrize("region", sorted(training_image.REGISTRY_ACCOUNTS))
def test_image_and_ecr_grant_resolve_for_each_region(template_json, region) -> None:
    resolver = resolver_for(template_json, region)
    partition, suffix = partition_of(region)
    account = training_image.REGISTRY_ACCOUNTS[region]
    for request in training_requests(definition(template_json, resolver)).values():
        assert request["AlgorithmSpecification"]["TrainingImage"] == (
            f"{account}.dkr.ecr.{region}.{suffix}/{training_image.REPOSITORY}:{training_image.TAG}")
        statements = role_statements(template_json, resolver, request["RoleArn"])
        repository = f"arn:{partition}:ecr:{region}:{account}:repository/{training_image.REPOSITORY}"
        for action in ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"):
            assert allows(statements, action, repository), action


def test_an_image_of_your_own_is_pulled_from_its_own_repository(bare_app) -> None:
    uri = "111122223333.dkr.ecr.eu-central-1.amazonaws.com/team/finetune:2026-11"
    jobs, request = bare_request(bare_app, DEFAULT_INSTANCE_TYPE, image_uri=uri)
    assert request["AlgorithmSpecification"]["TrainingImage"] == uri
    assert jobs.image.repository_arn == f"arn:{Aws.PARTITION}:ecr:eu-central-1:111122223333:repository/team/finetune"


# --------------------------------------------------------------------------- settings


def test_settings_accept_every_training_instance_type_and_the_default() -> None:
    assert DEFAULT_INSTANCE_TYPE in training_instance_types()
    for instance_type in ("ml.m5.large", "ml.p5.48xlarge", "ml.trn1.2xlarge"):
        assert Settings(training_instance_type=instance_type).training_instance_type == instance_type


@pytest.mark.parametrize("wrong, hint", [("ml.g5.xlargee", "did you mean ml.g5.xlarge"), ("g5.xlarge", "ml.g5.xlarge"),
                                         ("ml.m5.medium", "not an instance type SageMaker training accepts")])
def test_settings_reject_instance_types_sagemaker_does_not_train_on(wrong, hint) -> None:
    with pytest.raises(ValueError, match="driftgate:training_instance_type") as error:
        Settings(training_instance_type=wrong)
    assert hint in str(error.value)


def test_settings_reject_an_image_uri_outside_ecr() -> None:
    with pytest.raises(ValueError, match="driftgate:training_image_uri must be an ECR image URI"):
        Settings(training_image_uri="docker.io/library/python:3.12")
    assert Settings().training_image_uri == ""  # the DLC resolved per region


# --------------------------------------------------------------------------- the image's packages


def pins(path: Path) -> dict[str, str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return {name.lower().replace("_", "-"): version for name, version in (line.split("==") for line in lines if line)}


# PyPI holds these only as sdists; they are built into wheels first, for the resolver to read.
SDIST_ONLY = ("rouge-score",)


def manylinux_platforms(glibc: tuple[int, int]) -> list[str]:
    """Every manylinux tag the image's glibc can load: pip's --platform takes no ranges."""
    tags = [f"manylinux_2_{minor}_x86_64" for minor in range(glibc[1], 16, -1)] + ["manylinux2014_x86_64"]
    return [arg for tag in tags for arg in ("--platform", tag)]


def test_requirements_pin_the_image_torch() -> None:
    pinned = pins(REPO_ROOT / REQUIREMENTS)
    assert pinned["torch"] == training_image.TORCH_VERSION
    assert set(SDIST_ONLY) <= set(pinned)


def test_requirements_resolve_with_the_image_torch_and_python(tmp_path) -> None:
    """pip's resolver, for the image's Python and platform, with PEP 658 metadata (or HTTP range
    requests where an index serves none): no wheel of torch is downloaded."""
    pinned = pins(REPO_ROOT / REQUIREMENTS)
    wheels, report = tmp_path / "wheels", tmp_path / "report.json"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels),
                    *(f"{name}=={pinned[name]}" for name in SDIST_ONLY)], check=True, timeout=300)
    command = [*pip, "install", "--dry-run", "--ignore-installed", "--report", str(report), "--progress-bar", "off",
               "--only-binary=:all:", "--implementation", "cp", "--python-version", training_image.PYTHON_VERSION,
               *manylinux_platforms(training_image.GLIBC_VERSION), "--target", str(tmp_path / "target"),
               "--find-links", str(wheels), "-r", str(REPO_ROOT / REQUIREMENTS)]
    # fast-deps reads a wheel's metadata by HTTP range requests, for indexes without PEP 658 files.
    result = subprocess.run([*command, "--use-feature=fast-deps"], capture_output=True, text=True, timeout=600)
    if "fast-deps" in result.stderr and "invalid choice" in result.stderr:  # a pip without the feature
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert not re.search(r"Downloading torch-\S+\.whl", output), "pip downloaded a torch wheel to read its metadata"
    resolved = {item["metadata"]["name"].lower().replace("_", "-"): item["metadata"]["version"]
                for item in json.loads(report.read_text())["install"]}
    assert {name: resolved.get(name) for name in pinned} == pinned


# --------------------------------------------------------------------------- the source asset


# A cache and a test inside shipped folders, and a file beside them.
UNSHIPPED = ("functions/scoring/__pycache__/pack.cpython-312.pyc", "finetune/tests/test_extra.py",
             "functions/api/app.py")


@pytest.fixture
def source_copy(tmp_path) -> Path:
    """What the asset ships, copied, with files it must not ship beside it."""
    root = tmp_path / "repo"
    for path in source_files(REPO_ROOT):
        target = root / path.relative_to(REPO_ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    for unshipped in UNSHIPPED:
        (root / unshipped).parent.mkdir(parents=True, exist_ok=True)
        (root / unshipped).write_text("# not shipped\n")
    return root


def test_source_hash_follows_every_shipped_file(source_copy) -> None:
    before = source_hash(source_copy)
    assert before == source_hash(REPO_ROOT)  # only shipped files count: the copy holds nothing else
    scorer = source_copy / "functions/scoring/pack.py"
    scorer.write_text(scorer.read_text() + "\n# changed\n")
    changed = source_hash(source_copy)
    assert changed != before
    for unshipped in UNSHIPPED:
        (source_copy / unshipped).write_text("# changed, still not shipped\n")
    assert source_hash(source_copy) == changed


def test_asset_hash_follows_the_source(bare_app, source_copy) -> None:
    first, _ = bare_request(bare_app, DEFAULT_INSTANCE_TYPE, source_root=source_copy)
    (source_copy / UNSHIPPED[0]).write_text("# changed, not shipped\n")
    same, _ = bare_request(bare_app, DEFAULT_INSTANCE_TYPE, source_root=source_copy)
    (source_copy / "functions/scoring/text.py").write_text("# changed\n")
    second, _ = bare_request(bare_app, DEFAULT_INSTANCE_TYPE, source_root=source_copy)
    assert first.source.asset_hash == same.source.asset_hash != second.source.asset_hash


def test_tarball_ships_the_hashed_files(source_copy, tmp_path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    assert _SourceTarball(source_copy).try_bundle(str(out))
    with tarfile.open(out / "sourcedir.tar.gz") as tar:
        members = sorted(m.name for m in tar.getmembers() if m.isfile())
    shipped = sorted(str(p.relative_to(source_copy)) for p in source_files(source_copy))
    assert members == sorted([*shipped, "requirements.txt"])
    assert "functions/scoring/pack.py" in members and not [m for m in members if "__pycache__" in m or "tests" in m]
