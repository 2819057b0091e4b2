"""Register: checks the adapter's integrity and records it as a new immutable version."""
from __future__ import annotations

import hashlib
import json
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.common.exceptions import DriftgateError
from functions.pipeline.artifacts import artifact_store
from functions.pipeline.models import RegisteredVersion, RegisterInput
from functions.registry.store import registry

logger = Logger()
tracer = Tracer()
WEIGHTS = "adapter_model.safetensors"


class AdapterIntegrityError(DriftgateError):
    """The adapter in S3 is not the one training wrote (missing files or a sha256 mismatch)."""


def verify_adapter(files: dict[str, bytes]) -> dict[str, Any]:
    """The training manifest, after checking the weights hash to what it recorded."""
    missing = [name for name in ("adapter_config.json", WEIGHTS, "manifest.json") if name not in files]
    if missing:
        raise AdapterIntegrityError(f"adapter archive lacks {', '.join(missing)}")
    manifest = json.loads(files["manifest.json"])
    expected = manifest.get("weights", {}).get("sha256")
    actual = hashlib.sha256(files[WEIGHTS]).hexdigest()
    if expected != actual:
        raise AdapterIntegrityError(f"{WEIGHTS} sha256 {actual} does not match the training manifest's {expected}")
    return manifest


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = RegisterInput.model_validate(event)
    manifest = verify_adapter(artifact_store().read_tarball(request.adapter_uri))
    # A retry (say after a timeout) of an attempt that did register returns that version.
    earlier = next((v for v in registry().versions(request.model) if v.get("execution_arn") == request.execution_arn),
                   None)
    if earlier is not None:
        return registered(earlier).model_dump(mode="json")
    version = registry().register(request.model, {
        "s3_uri": request.adapter_uri,
        "sha256": manifest["weights"]["sha256"],
        "base_model": manifest.get("base_model"),
        "training": {k: manifest[k] for k in ("hyperparameters", "seed", "loss", "dataset", "versions",
                                               "global_step") if k in manifest},
        "dataset": request.dataset.model_dump(mode="json"),
        "execution_arn": request.execution_arn,
        "gate": request.gate.model_dump(mode="json"),
        "approval": "pending" if request.gate.decision == "promote" else "not-applicable",
    })
    logger.info("registered adapter", extra={"model": request.model, "version": version["version"]})
    return registered(version).model_dump(mode="json")


def registered(version: dict[str, Any]) -> RegisteredVersion:
    """The task's answer, from the registry's version item (which holds much more)."""
    return RegisteredVersion(version=version["version"], s3_uri=version["s3_uri"], sha256=version["sha256"])
