"""Starts the retrain pipeline for a model, at most one run at a time and not within the cooldown.

The guard is one DynamoDB item per model (``TRIGGER``) claimed with a conditional write, so
concurrent drift checks (or a manual retrain racing one) start exactly one execution.
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from botocore.exceptions import ClientError

from functions.common.exceptions import ConflictError
from functions.common.repositories import Repositories, to_dynamo
from functions.common.settings import env, env_int

# A run that never released its claim (crashed outside the state machine) frees it after this.
MAX_RUN = timedelta(hours=12)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _key(model: str) -> dict[str, str]:
    return {"pk": f"MODEL#{model}", "sk": "TRIGGER"}


def start_retrain(repos: Repositories, model: str, reason: str, report: dict[str, Any] | None = None) -> str:
    """Claims the model's trigger and starts an execution; raises ConflictError when a run is in
    progress or the cooldown has not passed."""
    now = _now()
    try:
        repos.state.table.update_item(
            Key=_key(model),
            UpdateExpression="SET busy_until = :until, started_at = :now, reason = :reason",
            ConditionExpression="attribute_not_exists(pk) OR busy_until < :now",
            ExpressionAttributeValues={":until": (now + MAX_RUN).isoformat(), ":now": now.isoformat(), ":reason": reason},
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        current = repos.state.get(**_key(model)) or {}
        raise ConflictError(f"a retrain of {model} is running or cooling down until {current.get('busy_until')}") from None
    # Sanitizing can map two models to one name ("a.b", "a:b", a shared long prefix): the model's
    # hash keeps names apart, or StartExecution fails with ExecutionAlreadyExists.
    digest = hashlib.sha256(model.encode()).hexdigest()[:8]
    name = re.sub(r"[^A-Za-z0-9_-]", "-", f"{model}-{reason}")[:52] + f"-{digest}" + now.strftime("-%Y%m%dT%H%M%S")
    execution = repos.stepfunctions.start_execution(
        stateMachineArn=env("STATE_MACHINE_ARN"), name=name[:80],
        input=json.dumps({"model": model, "reason": reason, "report": report or {}}, default=str),
    )
    repos.state.table.update_item(Key=_key(model), UpdateExpression="SET execution_arn = :arn",
                                  ExpressionAttributeValues={":arn": execution["executionArn"]})
    return execution["executionArn"]


def release(repos: Repositories, model: str) -> str:
    """Ends the model's run: the next one may start after the cooldown."""
    until = (_now() + timedelta(hours=env_int("COOLDOWN_HOURS", 24))).isoformat()
    repos.state.table.update_item(Key=_key(model), UpdateExpression="SET busy_until = :until",
                                  ExpressionAttributeValues=to_dynamo({":until": until}))
    return until
