"""Starts the retrain pipeline for a model, under its run guard (``run_guard``: one run at a
time, not within the cooldown)."""
from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from functions.common.contract import settings
from functions.common.repositories import Repositories
from functions.monitor.run_guard import claim, guard_key, now


def start_retrain(repos: Repositories, model: str, reason: str, report: dict[str, Any] | None = None) -> str:
    """Claims the model's guard and starts an execution; raises ConflictError when a run is in
    progress or the cooldown has not passed."""
    started = now()
    claim(repos, model, reason, started)
    # Sanitizing can map two models to one name ("a.b", "a:b", a shared long prefix): the model's
    # hash keeps names apart, or StartExecution fails with ExecutionAlreadyExists.
    digest = hashlib.sha256(model.encode()).hexdigest()[:8]
    name = re.sub(r"[^A-Za-z0-9_-]", "-", f"{model}-{reason}")[:52] + f"-{digest}" + started.strftime("-%Y%m%dT%H%M%S")
    execution = repos.stepfunctions.start_execution(
        stateMachineArn=settings.state_machine_arn, name=name[:80],
        input=json.dumps({"model": model, "reason": reason, "report": report or {}}, default=str),
    )
    repos.state.table.update_item(Key=guard_key(model), UpdateExpression="SET execution_arn = :arn",
                                  ExpressionAttributeValues={":arn": execution["executionArn"]})
    return execution["executionArn"]
