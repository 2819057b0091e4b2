"""Canary records: one per staged version (pk ``MODEL#<model>``, sk ``CANARY#000002``) and one item
per look at it (``LOOK#000002#000017``), in the state table.

A canary item holds what its looks need between Lambda invocations: the two versions compared,
the canary id the assignment hashes with, the share, when it started, its status, the sequential
test's running state (looks, running p-values), the latest decision with all its numbers, and the
snapshot of both versions' served aggregates at its start. The arms are what each version served
*since* then (``shards.served`` now minus the snapshot): production's interactions from before the
canary came from other traffic and must not enter the comparison.

Status: ``running`` → ``aborted`` (an operator; the next look retires staging) → one of
``promoted``, ``rolled_back``, ``inconclusive``, ``retired`` (after an abort) or ``failed`` (its run
failed). Each change is a conditional update, so a look never overwrites an abort.
"""
from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

from botocore.exceptions import ClientError

from functions.canary.decision import CanaryDecision, CanaryState
from functions.canary.stats import ArmStats, GroupCount, Moments
from functions.common.clients import region
from functions.common.contract import CANARY_PREFIX, canary_sk, look_sk, model_pk, settings, version_sk
from functions.common.exceptions import ConflictError, NotFoundError
from functions.common.repositories import StateRepository, repositories, to_dynamo, utc_now
from functions.interactions.shards import served
from functions.interactions.store import GROUP_PREFIX

Status = Literal["running", "aborted", "promoted", "rolled_back", "inconclusive", "retired", "failed"]
OPEN: tuple[Status, ...] = ("running", "aborted")
_SUMS = ("n", "sum_quality", "sum_sq_quality", "feedback_n", "sum_feedback", "sum_sq_feedback", "flag_refusal",
         "flag_pii")


def _names(aggregate: dict[str, Any]) -> list[str]:
    return [*_SUMS, *(name for name in aggregate if name.startswith(GROUP_PREFIX))]


def _sums(aggregate: dict[str, Any]) -> dict[str, float]:
    return {name: aggregate.get(name, 0) for name in _names(aggregate)}


def arm(now: dict[str, Any], start: dict[str, Any]) -> ArmStats:
    """An arm from a version's served aggregate now, less its snapshot at the canary's start."""
    d = {name: now.get(name, 0) - start.get(name, 0) for name in _names(now)}
    groups = {name.removeprefix(GROUP_PREFIX).removesuffix("#n"): GroupCount(
        n=int(d[name]), good=int(d.get(name.removesuffix("#n") + "#good", 0)))
        for name in d if name.startswith(GROUP_PREFIX) and name.endswith("#n") and d[name] > 0}
    # Sums of squares of values in [0, 1] subtract exactly enough; clip the rounding of an empty arm.
    return ArmStats(quality=Moments(n=int(d["n"]), total=float(d["sum_quality"]),
                                    total_sq=max(0.0, float(d["sum_sq_quality"]))),
                    feedback=Moments(n=int(d["feedback_n"]), total=float(d["sum_feedback"]),
                                     total_sq=max(0.0, float(d["sum_sq_feedback"]))),
                    refusals=int(d["flag_refusal"]), pii=int(d["flag_pii"]), groups=groups)


class Canaries:
    def __init__(self, state: StateRepository) -> None:
        self.state = state

    def start(self, model: str, version: int, control_version: int, *, canary_id: str, execution_arn: str,
              share: float) -> dict[str, Any]:
        """Stores the canary of ``version`` (one per version); a retry of the same run gets it back."""
        item = {"pk": model_pk(model), "sk": canary_sk(version), "model": model, "version": version,
                "control_version": control_version, "canary_id": canary_id, "execution_arn": execution_arn,
                "share": share, "started_at": utc_now(), "status": "running",
                "baseline": {"control": _sums(served(self.state, model, control_version)),
                             "treatment": _sums(served(self.state, model, version))},
                "state": {"looks": 0, "p_value": 1.0, "feedback_p_value": 1.0}}
        try:
            self.state.put(item, ConditionExpression="attribute_not_exists(sk)")
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            existing = self.require(model, version)
            if existing["canary_id"] != canary_id:
                raise ConflictError(f"version {version} of {model} already had a canary "
                                    f"({existing['canary_id']})") from None
            return existing
        return item

    def get(self, model: str, version: int) -> dict[str, Any] | None:
        return self.state.get(model_pk(model), canary_sk(version))

    def require(self, model: str, version: int) -> dict[str, Any]:
        item = self.get(model, version)
        if not item:
            raise NotFoundError(f"version {version} of {model} has no canary")
        return item

    def latest(self, model: str) -> dict[str, Any]:
        """The model's newest canary (the highest version staged)."""
        items = self.state.query(model_pk(model), CANARY_PREFIX, newest_first=True, limit=1)
        if not items:
            raise NotFoundError(f"model {model!r} has had no canary")
        return items[0]

    def arms(self, item: dict[str, Any]) -> tuple[ArmStats, ArmStats]:
        """(production, staging): what each version served since the canary started."""
        baseline = item["baseline"]
        control = arm(served(self.state, item["model"], int(item["control_version"])), baseline["control"])
        treatment = arm(served(self.state, item["model"], int(item["version"])), baseline["treatment"])
        return control, treatment

    @staticmethod
    def test_state(item: dict[str, Any]) -> CanaryState:
        return CanaryState(canary_id=item["canary_id"], **item["state"])

    @staticmethod
    def age_hours(item: dict[str, Any]) -> float:
        started = datetime.fromisoformat(item["started_at"])
        return (datetime.now(UTC) - started).total_seconds() / 3600

    def record_look(self, item: dict[str, Any], state: CanaryState, decision: CanaryDecision) -> bool:
        """Stores one look: its own item, the canary's running state and latest decision, and the
        decision on the version. False (nothing stored on the canary) if it stopped running meanwhile."""
        model, version, now = item["model"], int(item["version"]), utc_now()
        numbers = decision.to_dict()
        self.state.put({"pk": model_pk(model), "sk": look_sk(version, state.looks), "model": model,
                        "version": version, "at": now, "decision": numbers})
        try:
            self.state.table.update_item(
                Key={"pk": model_pk(model), "sk": canary_sk(version)},
                UpdateExpression="SET #state = :state, decision = :decision, updated_at = :now",
                ConditionExpression="#status = :running",
                ExpressionAttributeNames={"#state": "state", "#status": "status"},
                ExpressionAttributeValues=to_dynamo({
                    ":state": {"looks": state.looks, "p_value": state.p_value,
                               "feedback_p_value": state.feedback_p_value},
                    ":decision": numbers, ":now": now, ":running": "running"}))
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        self._on_version(model, version, {"canary_id": item["canary_id"], "status": "running", "at": now,
                                          "decision": numbers})
        return True

    def abort(self, model: str, actor: str) -> dict[str, Any]:
        """Stops the model's running canary: the serving route sends no unit to staging from now on,
        and the run's next look retires it."""
        item = self.latest(model)
        now = utc_now()
        try:
            self.state.table.update_item(
                Key={"pk": model_pk(model), "sk": canary_sk(int(item["version"]))},
                UpdateExpression="SET #status = :aborted, aborted_by = :actor, aborted_at = :now",
                ConditionExpression="#status = :running", ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":aborted": "aborted", ":actor": actor, ":now": now,
                                           ":running": "running"})
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            raise ConflictError(f"the canary of version {item['version']} of {model} is not running "
                                f"(status: {item['status']})") from None
        return self.require(model, int(item["version"]))

    def end(self, model: str, version: int, status: Status, actor: str) -> bool:
        """Ends the canary of ``version`` (if it has one still open) with ``status``."""
        now = utc_now()
        try:
            self.state.table.update_item(
                Key={"pk": model_pk(model), "sk": canary_sk(version)},
                UpdateExpression="SET #status = :status, ended_at = :now, ended_by = :actor",
                ConditionExpression="#status IN (:running, :aborted)", ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":status": status, ":now": now, ":actor": actor, ":running": "running",
                                           ":aborted": "aborted"})
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        item = self.require(model, version)
        self._on_version(model, version, {"canary_id": item["canary_id"], "status": status, "at": now,
                                          "ended_by": actor, "decision": item.get("decision")})
        return True

    def _on_version(self, model: str, version: int, canary: dict[str, Any]) -> None:
        """The version's record of its canary: status and the latest decision with its numbers."""
        self.state.table.update_item(
            Key={"pk": model_pk(model), "sk": version_sk(version)}, UpdateExpression="SET canary = :c",
            ConditionExpression="attribute_exists(sk)", ExpressionAttributeValues={":c": to_dynamo(canary)})


def canaries() -> Canaries:
    return _canaries(region(), settings.state_table)


@lru_cache(maxsize=8)
def _canaries(region_name: str | None, state_table: str) -> Canaries:
    return Canaries(repositories().state)
