"""What the API does with adapters: list, show production, promote, roll back, approve, retrain."""
from __future__ import annotations

import json
from typing import Any

from functions.canary.assignment import TREATMENT, assign
from functions.common.contract import BASE_MODEL_VERSION
from functions.common.exceptions import ConflictError, NotFoundError
from functions.common.repositories import repositories
from functions.monitor.trigger import start_retrain
from functions.registry.canaries import canaries
from functions.registry.promotion import promote
from functions.registry.store import registry

__all__ = ["abort_canary", "canary", "decide_approval", "list_adapters", "production", "promote", "retrain",
           "rollback", "serving"]


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


def serving(model: str, unit: str) -> dict[str, Any]:
    """The adapter that serves ``unit``: staging for the canary's share of units while its canary
    runs (``assign``: a hash, so the unit keeps its arm), production otherwise (version 0: the base)."""
    reg = registry()
    staging = reg.alias(model, "staging")
    running = canaries().get(model, staging["version"]) if staging else None
    if staging and running and running["status"] == "running" \
            and assign(model, unit, running["canary_id"], float(running["share"])) == TREATMENT:
        return {"model": model, "unit": unit, "arm": "staging", "version": staging["version"],
                "s3_uri": staging["s3_uri"], "sha256": staging["sha256"], "canary_id": running["canary_id"]}
    current = reg.alias(model, "production")
    canary_id = running["canary_id"] if running and running["status"] == "running" else None
    if not current:
        return {"model": model, "unit": unit, "arm": "production", "version": BASE_MODEL_VERSION, "s3_uri": None,
                "sha256": None, "canary_id": canary_id}
    return {"model": model, "unit": unit, "arm": "production", "version": current["version"],
            "s3_uri": current["s3_uri"], "sha256": current["sha256"], "canary_id": canary_id}


def canary_view(item: dict[str, Any]) -> dict[str, Any]:
    """The API's view of a canary item: its arms and test as of the last look."""
    last = item.get("decision") or {}
    return {"model": item["model"], "version": item["version"], "control_version": item["control_version"],
            "canary_id": item["canary_id"], "status": item["status"], "share": item["share"],
            "started_at": item["started_at"], "updated_at": item.get("updated_at"), "ended_at": item.get("ended_at"),
            "aborted_by": item.get("aborted_by"), "looks": item["state"]["looks"],
            "n_control": last.get("n_control", 0), "n_treatment": last.get("n_treatment", 0),
            "mean_control": last.get("mean_control"), "mean_treatment": last.get("mean_treatment"),
            "effect": last.get("effect"), "p_value": item["state"]["p_value"], "ci": last.get("ci"),
            "decision": last.get("decision"), "reason": last.get("reason"), "guards": last.get("guards", [])}


def canary(model: str) -> dict[str, Any]:
    return canary_view(canaries().latest(model))


def abort_canary(model: str, actor: str) -> dict[str, Any]:
    return canary_view(canaries().abort(model, actor))
