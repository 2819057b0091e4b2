"""The adapter registry: immutable versions and aliases that move by conditional writes.

Items of the state table, per model (pk ``MODEL#<model>``):

- ``VERSION#000001`` … one per adapter, written once (``attribute_not_exists``), never updated
  except its approval status;
- ``VERSION_COUNTER``: the last version number handed out (atomic ``ADD``);
- ``ALIAS#production`` / ``ALIAS#staging``: the version an alias points to and its revision
  (``staging``: the version a canary is testing, cleared when the canary ends);
- ``ALIAS#production#REV#000003``: one history entry per move, written in the same
  transaction as the alias (so the history can never disagree with the alias).

Two promotions racing on the same revision: exactly one transaction passes, the other gets a
409 ``ConflictError``.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from functions.common.clients import client, region
from functions.common.contract import (
    VERSION_PREFIX,
    alias_history_prefix,
    alias_history_sk,
    alias_sk,
    model_pk,
    settings,
    version_sk,
)
from functions.common.exceptions import ConflictError, NotFoundError
from functions.common.repositories import (
    StateRepository,
    repositories,
    to_dynamo,
    utc_now,
)

Alias = Literal["production", "staging"]
ALIASES: tuple[Alias, ...] = ("production", "staging")
_serialize = TypeSerializer().serialize


def _dynamo(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _serialize(v) for k, v in to_dynamo(item).items()}


class Registry:
    def __init__(self, state: StateRepository, dynamodb_client: Any) -> None:
        self.state = state
        self.client = dynamodb_client
        self.table_name = state.table.name

    # -- versions --------------------------------------------------------------------------
    def register(self, model: str, record: dict[str, Any]) -> dict[str, Any]:
        """Allocates the next version number and stores the version, immutable from then on."""
        counter = self.state.table.update_item(
            Key={"pk": model_pk(model), "sk": "VERSION_COUNTER"}, UpdateExpression="ADD last_version :one",
            ExpressionAttributeValues={":one": 1}, ReturnValues="UPDATED_NEW",
        )
        version = int(counter["Attributes"]["last_version"])
        item = {**record, "pk": model_pk(model), "sk": version_sk(version), "model": model, "version": version,
                "created_at": utc_now()}
        self.state.put(item, ConditionExpression="attribute_not_exists(sk)")
        return self._public(item)

    def get_version(self, model: str, version: int, *, with_token: bool = False) -> dict[str, Any]:
        item = self.state.get(model_pk(model), version_sk(version))
        if not item:
            raise NotFoundError(f"model {model!r} has no adapter version {version}")
        return item if with_token else self._public(item)

    def versions(self, model: str) -> list[dict[str, Any]]:
        return [self._public(i) for i in self.state.query(model_pk(model), VERSION_PREFIX)]

    def set_approval(self, model: str, version: int, status: Literal["approved", "rejected"],
                     actor: str) -> dict[str, Any]:
        try:
            self.state.table.update_item(
                Key={"pk": model_pk(model), "sk": version_sk(version)},
                UpdateExpression="SET approval = :s, approved_by = :a, approved_at = :t",
                ConditionExpression="attribute_exists(sk) AND approval = :pending",
                ExpressionAttributeValues={":s": status, ":a": actor, ":t": utc_now(), ":pending": "pending"},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            current = self.get_version(model, version)  # 404 if it does not exist
            raise ConflictError(f"version {version} of {model} is not waiting for approval "
                                f"(approval: {current.get('approval')})") from None
        return self.get_version(model, version)

    def await_approval(self, model: str, version: int, task_token: str) -> None:
        self.state.table.update_item(
            Key={"pk": model_pk(model), "sk": version_sk(version)},
            UpdateExpression="SET task_token = :token", ConditionExpression="attribute_exists(sk)",
            ExpressionAttributeValues={":token": task_token},
        )

    # -- aliases ---------------------------------------------------------------------------
    def alias(self, model: str, alias: Alias = "production") -> dict[str, Any] | None:
        item = self.state.get(model_pk(model), alias_sk(alias))
        return self._public(item) if item else None

    def history(self, model: str, alias: Alias = "production") -> list[dict[str, Any]]:
        return [self._public(i) for i in self.state.query(model_pk(model), alias_history_prefix(alias))]

    def move(self, model: str, version: int, *, alias: Alias = "production", actor: str, reason: str,
             expected_revision: int | None = None) -> dict[str, Any]:
        """Points ``alias`` at ``version`` if nobody moved it since ``expected_revision`` (default:
        the revision read now). The alias and its history entry are one transaction."""
        target = self.get_version(model, version)
        if target.get("gate", {}).get("decision") == "reject" and reason != "rollback":
            raise ConflictError(f"version {version} of {model} was rejected by the gate; it cannot be promoted")
        current = self.alias(model, alias)
        revision = current["revision"] if current else self._last_revision(model, alias)
        if expected_revision is not None and expected_revision != revision:
            raise ConflictError(f"{alias} of {model} moved (revision {revision}, expected {expected_revision})")
        if current and current["version"] == version:
            raise ConflictError(f"{alias} of {model} already points to version {version}")
        now = utc_now()
        alias_item = {"pk": model_pk(model), "sk": alias_sk(alias), "alias": alias, "model": model, "version": version,
                      "revision": revision + 1, "updated_at": now, "s3_uri": target["s3_uri"],
                      "sha256": target["sha256"]}
        history_item = {"pk": model_pk(model), "sk": alias_history_sk(alias, revision + 1), "alias": alias,
                        "revision": revision + 1, "from_version": current["version"] if current else None,
                        "to_version": version, "at": now, "actor": actor, "reason": reason}
        condition = ("attribute_not_exists(sk)" if current is None else "revision = :rev")
        put_alias: dict[str, Any] = {"TableName": self.table_name, "Item": _dynamo(alias_item),
                                     "ConditionExpression": condition}
        if current is not None:
            put_alias["ExpressionAttributeValues"] = {":rev": {"N": str(revision)}}
        self._move(model, alias, {"Put": put_alias}, history_item)
        return self._public(alias_item)

    def clear(self, model: str, version: int, *, alias: Alias = "staging", actor: str, reason: str) -> bool:
        """Points ``alias`` at nothing if it points at ``version`` (a staging version retired or
        promoted); the deletion and its history entry (``to_version`` null) are one transaction.
        False if the alias points elsewhere or nowhere (a retry that already cleared it)."""
        current = self.alias(model, alias)
        if not current or current["version"] != version:
            return False
        revision = current["revision"]
        history_item = {"pk": model_pk(model), "sk": alias_history_sk(alias, revision + 1), "alias": alias,
                        "revision": revision + 1, "from_version": version, "to_version": None, "at": utc_now(),
                        "actor": actor, "reason": reason}
        self._move(model, alias, {"Delete": {"TableName": self.table_name,
                                             "Key": {"pk": {"S": model_pk(model)}, "sk": {"S": alias_sk(alias)}},
                                             "ConditionExpression": "revision = :rev",
                                             "ExpressionAttributeValues": {":rev": {"N": str(revision)}}}},
                   history_item)
        return True

    def _move(self, model: str, alias: str, change: dict[str, Any], history_item: dict[str, Any]) -> None:
        """The alias's change and its history entry, in one transaction (the entry's revision is new)."""
        try:
            self.client.transact_write_items(TransactItems=[
                change,
                {"Put": {"TableName": self.table_name, "Item": _dynamo(history_item),
                         "ConditionExpression": "attribute_not_exists(sk)"}},
            ])
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            raise ConflictError(f"{alias} of {model} was moved concurrently; read it again and retry") from None

    def _last_revision(self, model: str, alias: Alias) -> int:
        """The revision of the alias's last move (0 if it never moved): an alias cleared and set
        again continues its history."""
        last = self.state.query(model_pk(model), alias_history_prefix(alias), newest_first=True, limit=1)
        return int(last[0]["revision"]) if last else 0

    def rollback(self, model: str, *, actor: str, alias: Alias = "production") -> dict[str, Any]:
        """Moves the alias back to the version that served before the current one. Promotions
        push onto a stack and rollbacks pop it, so repeated rollbacks keep walking back."""
        current = self.alias(model, alias)
        if not current:
            raise NotFoundError(f"{alias} of {model} points to no version")
        stack: list[int] = []
        for entry in self.history(model, alias):
            if entry["reason"] == "rollback":
                stack.pop()
            else:
                stack.append(int(entry["to_version"]))
        if len(stack) < 2:
            raise ConflictError(f"{alias} of {model} has no previous version to roll back to")
        return self.move(model, stack[-2], alias=alias, actor=actor, reason="rollback",
                         expected_revision=current["revision"])

    @staticmethod
    def _public(item: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in item.items() if k not in ("pk", "sk", "task_token")}


def registry() -> Registry:
    """The registry over the stack's state table (environment read when called), built like
    every repository: cached clients with the shared retry configuration."""
    return _registry(region(), settings.state_table)


@lru_cache(maxsize=8)
def _registry(region_name: str | None, state_table: str) -> Registry:
    return Registry(repositories().state, client("dynamodb"))
