"""What the API does with adapters: list, show production, promote, roll back, approve, retrain."""
from __future__ import annotations

import json
from typing import Any

from functions.common.exceptions import ConflictError, NotFoundError
from functions.common.repositories import repositories
from functions.monitor.trigger import start_retrain
from functions.registry.promotion import promote
from functions.registry.store import registry

__all__ = ["decide_approval", "list_adapters", "production", "promote", "retrain", "rollback"]


def list_adapters(model: str) -> dict[str, Any]:
    reg = registry()
    versions = reg.versions(model)
    production = reg.alias(model, "production")
    if not versions and not production:
        raise NotFoundError(f"model {model!r} has no adapters")
    return {"model": model, "production": production, "versions": versions, "history": reg.history(model)}


def production(model: str) -> dict[str, Any]:
    alias = registry().alias(model, "production")
    if not alias:
        raise NotFoundError(f"model {model!r} has no adapter in production")
    return {"model": model, "version": alias["version"], "s3_uri": alias["s3_uri"], "sha256": alias["sha256"],
            "revision": alias["revision"], "updated_at": alias["updated_at"]}


def rollback(model: str, actor: str) -> dict[str, Any]:
    return registry().rollback(model, actor=actor)


def retrain(model: str, actor: str) -> dict[str, Any]:
    arn = start_retrain(repositories(), model, "manual", {"requested_by": actor})
    return {"model": model, "execution_arn": arn}


def decide_approval(model: str, version: int, approve: bool, actor: str, comment: str | None) -> dict[str, Any]:
    """Resumes the run waiting on this version (Step Functions task token)."""
    reg = registry()
    item = reg.get_version(model, version, with_token=True)
    token = item.get("task_token")
    if not token or item.get("approval") != "pending":
        raise ConflictError(f"version {version} of {model} is not waiting for approval")
    reg.set_approval(model, version, "approved" if approve else "rejected", actor)
    sfn = repositories().stepfunctions
    if approve:
        sfn.send_task_success(taskToken=token, output=json.dumps({"approved_by": actor, "comment": comment}))
    else:
        sfn.send_task_failure(taskToken=token, error="ApprovalRejected", cause=comment or f"rejected by {actor}")
    return reg.get_version(model, version)
