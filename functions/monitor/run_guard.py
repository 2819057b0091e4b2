"""The guard of a model's retrain runs: at most one at a time, none within the cooldown.

One DynamoDB item per model (``TRIGGER``) claimed with a conditional write, so concurrent drift
checks (or a manual retrain racing one) start exactly one execution. The pipeline's last tasks
release it (its own module, so that they import nothing that starts executions).
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError

from functions.common.contract import TRIGGER_SK, model_pk, settings
from functions.common.exceptions import ConflictError
from functions.common.repositories import Repositories, to_dynamo

# A run that never released its claim (crashed outside the state machine) frees it after this.
MAX_RUN = timedelta(hours=12)


def now() -> datetime:
    return datetime.now(UTC)


def guard_key(model: str) -> dict[str, str]:
    return {"pk": model_pk(model), "sk": TRIGGER_SK}


def claim(repos: Repositories, model: str, reason: str, at: datetime) -> None:
    """Claims the model's guard; raises ConflictError when a run is in progress or cooling down."""
    try:
        repos.state.table.update_item(
            Key=guard_key(model),
            UpdateExpression="SET busy_until = :until, started_at = :now, reason = :reason",
            ConditionExpression="attribute_not_exists(pk) OR busy_until < :now",
            ExpressionAttributeValues={":until": (at + MAX_RUN).isoformat(), ":now": at.isoformat(), ":reason": reason},
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        current = repos.state.get(**guard_key(model)) or {}
        raise ConflictError(
            f"a retrain of {model} is running or cooling down until {current.get('busy_until')}") from None


def release(repos: Repositories, model: str) -> str:
    """Ends the model's run: the next one may start after the cooldown."""
    until = (now() + timedelta(hours=settings.cooldown_hours)).isoformat()
    repos.state.table.update_item(Key=guard_key(model), UpdateExpression="SET busy_until = :until",
                                  ExpressionAttributeValues=to_dynamo({":until": until}))
    return until
