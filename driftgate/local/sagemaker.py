"""The one place the local mode stands in for a service moto does not run: SageMaker training jobs.

moto's Step Functions interpreter forwards ``sagemaker:createTrainingJob.sync`` to moto's
SageMaker, which records the job but runs nothing and does not wait. Here that call runs the
job's entry point (the ``sagemaker_program`` hyperparameter, e.g. ``finetune/train.py``) as a
local process (``driftgate.job_process``: forked from an interpreter that has imported the training
libraries) with SageMaker's container contract — channels downloaded from (moto) S3 into
``input/data/<channel>``, ``hyperparameters.json``, ``SM_*`` variables — then uploads
``SM_MODEL_DIR`` as ``<S3OutputPath>/<job>/output/model.tar.gz`` like SageMaker does, and returns
``DescribeTrainingJob`` as ``.sync`` would. A failed process is a failed job: the task fails with
its stderr tail as the cause. The state machine definition itself is unchanged.
"""
from __future__ import annotations

import io
import json
import logging
import signal
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
from botocore.exceptions import ClientError
from moto.sagemaker.models import sagemaker_backends
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_unsupported as unsupported,
)

from driftgate import heap, job_process
from driftgate.local.dispatch import environment_snapshot
from driftgate.local.iam import Identities
from driftgate.paths import REPO_ROOT

JOB_TIMEOUT_S = 1800
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def _base_environment() -> dict[str, str]:
    """What every job process (and the fork server the jobs start from) sees: this process's
    environment over glibc's heap setting (a caller's own wins), never a hub download."""
    return {**heap.ENVIRONMENT, **environment_snapshot(), **OFFLINE}


_Unsupported = unsupported.StateTaskServiceUnsupported
_original_sync_resolver = _Unsupported._build_sync_resolver
_original_assert_pattern = _Unsupported._assert_integration_pattern_is_supported


def _is_training_job(task: Any) -> bool:
    return task.resource.service_name == "sagemaker" and task.resource.api_action.lower() == "createtrainingjob"


def _decode(value: str) -> str:
    """Framework estimators JSON-encode hyperparameter strings; plain strings are accepted too."""
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return decoded if isinstance(decoded, str) else value


def _split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _download_channel(s3: Any, uri: str, target: Path) -> None:
    bucket, prefix = _split_s3(uri)
    target.mkdir(parents=True, exist_ok=True)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            relative = obj["Key"][len(prefix):].lstrip("/") or Path(obj["Key"]).name
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, obj["Key"], str(destination))


def run_training_job(request: dict[str, Any], region: str, extra_env: dict[str, str] | None = None,
                     crash: Callable[[str], bool] | None = None) -> tuple[bool, str]:
    """Runs one CreateTrainingJob request locally; returns (succeeded, failure reason). ``crash``
    (fault injection) is asked whether to kill the job's process as soon as it starts."""
    s3 = boto3.client("s3", region_name=region)
    hyperparameters: dict[str, str] = dict(request.get("HyperParameters") or {})
    program = _decode(hyperparameters.get("sagemaker_program", ""))
    if not program:
        return False, "HyperParameters.sagemaker_program is not set"
    with tempfile.TemporaryDirectory(prefix="driftgate-sm-") as workdir:
        base = Path(workdir) / "opt_ml"
        server_env = _base_environment()
        env = {**server_env, **(extra_env or {}), **OFFLINE,
               "SM_BASE_DIR": str(base), "PYTHONPATH": str(REPO_ROOT),
               "SM_MODEL_DIR": str(base / "model"), "SM_OUTPUT_DATA_DIR": str(base / "output" / "data")}
        for channel in request.get("InputDataConfig", []):
            path = base / "input" / "data" / channel["ChannelName"]
            _download_channel(s3, channel["DataSource"]["S3DataSource"]["S3Uri"], path)
            env[f"SM_CHANNEL_{channel['ChannelName'].upper()}"] = str(path)
        (base / "input" / "config").mkdir(parents=True, exist_ok=True)
        (base / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hyperparameters))
        for directory in ("model", "output/data", "checkpoints"):
            (base / directory).mkdir(parents=True, exist_ok=True)
        logs = Path(workdir) / "logs"
        logs.mkdir()
        process = job_process.start(REPO_ROOT / program, env, REPO_ROOT, logs / "stdout", logs / "stderr",
                                    server_env=server_env)
        if crash and crash(program):
            process.kill()
        returncode = process.wait(JOB_TIMEOUT_S)
        if returncode is None:
            process.kill()
            return False, f"AlgorithmError: {program} ran past {JOB_TIMEOUT_S} s and was stopped"
        if returncode < 0:
            return False, f"AlgorithmError: {program} was killed by {signal.Signals(-returncode).name}"
        if returncode != 0:
            output = (logs / "stderr").read_text(errors="replace").strip() or (logs / "stdout").read_text(
                errors="replace").strip()
            tail = output.splitlines()[-3:]
            return False, f"AlgorithmError: {program} exited with {returncode}: {' | '.join(tail)}"
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w:gz") as tar:
            for path in sorted((base / "model").rglob("*")):
                tar.add(path, arcname=str(path.relative_to(base / "model")), recursive=False)
        bucket, prefix = _split_s3(request["OutputDataConfig"]["S3OutputPath"])
        key = f"{prefix.rstrip('/')}/{request['TrainingJobName']}/output/model.tar.gz".lstrip("/")
        s3.put_object(Bucket=bucket, Key=key, Body=archive.getvalue())
    return True, ""


class LocalSageMaker:
    """Patches moto's interpreter for the duration of the local stack."""

    def __init__(self, region: str, account: str, identities: Identities,
                 extra_env: dict[str, str] | None = None) -> None:
        self.region = region
        self.identities = identities
        self.account = account
        self.extra_env = extra_env or {}
        self.jobs: list[dict[str, Any]] = []
        self.crash: Callable[[str], bool] | None = None  # set by driftgate.local.faults
        self._patches = [
            mock.patch.object(_Unsupported, "_build_sync_resolver", new=self._make_sync_resolver()),
            mock.patch.object(_Unsupported, "_assert_integration_pattern_is_supported",
                              new=lambda task: None if _is_training_job(task) else _original_assert_pattern(task)),
        ]

    def start(self) -> None:
        # moto warns that it forwards sagemaker tasks unoptimised: this seam is what handles them.
        logging.getLogger(unsupported.__name__).setLevel(logging.ERROR)
        for patch in self._patches:
            patch.start()

    def stop(self) -> None:
        for patch in reversed(self._patches):
            patch.stop()

    def _make_sync_resolver(self):
        seam = self

        def build_sync_resolver(task, env, resource_runtime_part, normalised_parameters, state_credentials):
            # The create call already happened (moto recorded the job); .sync now waits for it.
            if not _is_training_job(task):
                return _original_sync_resolver(task, env, resource_runtime_part, normalised_parameters,
                                               state_credentials)
            return lambda: seam.complete(normalised_parameters)

        return build_sync_resolver

    def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        # The job reads its channels and writes its model as its own role, as SageMaker does.
        with self.identities.acting_as(self.identities.role(request["RoleArn"], "sagemaker")):
            succeeded, reason = run_training_job(request, self.region, self.extra_env, self.crash)
        job = sagemaker_backends[self.account][self.region].training_jobs[request["TrainingJobName"]]
        job.training_job_status = job.secondary_status = "Completed" if succeeded else "Failed"
        self.jobs.append({"name": request["TrainingJobName"], "succeeded": succeeded, "reason": reason})
        if not succeeded:
            job.failure_reason = reason
            raise ClientError({"Error": {"Code": "TrainingJobFailed", "Message": reason}}, "DescribeTrainingJob")
        # .sync polls the job as the state machine's role.
        with self.identities.acting_as(self.identities.role(self.identities.state_machine_role or "", "states")):
            description = boto3.client("sagemaker", region_name=self.region).describe_training_job(
                TrainingJobName=request["TrainingJobName"])
        description.pop("ResponseMetadata", None)
        return json.loads(json.dumps(description, default=str))
