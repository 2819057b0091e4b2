"""JSON Lines objects in S3: raw interactions (one object per (model, day) of an ingested batch)
and the frozen golden sets.

An edit of an existing object (a retried batch merging into it, an erasure removing lines) is
conditional on the ETag it read (S3 conditional writes and deletes), so two writers touching the
same object cannot overwrite each other's change: the loser reads again and re-applies its edit.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from functions.common.exceptions import ConflictError

Line = dict[str, Any]
EDIT_ATTEMPTS = 8
# 412: the ETag changed; 409: a concurrent write or delete of the key; 404: deleted since the read.
_CHANGED = {"PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey", "412", "409", "404"}


def raw_key(model: str, day: str, request_ids: list[str]) -> str:
    """Named by a hash of the batch's request ids, so a retry of the batch lands on the same key."""
    digest = hashlib.sha256("\n".join(sorted(request_ids)).encode()).hexdigest()[:32]
    return f"raw/model={model}/date={day}/{digest}.jsonl"


@dataclass(frozen=True)
class Edit:
    """One object before and after an edit; ``existed`` is False when there was no object."""

    before: list[Line]
    after: list[Line]
    existed: bool

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    def deleted(self) -> bool:
        return self.existed and self.changed and not self.after


class JsonLinesObjects:
    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket

    def read(self, key: str) -> tuple[list[Line], str | None]:
        """The object's lines and ETag; ``([], None)`` when there is no such object."""
        try:
            response = self.s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return [], None
            raise
        body = response["Body"].read().decode()
        return [json.loads(line) for line in body.splitlines() if line], response["ETag"]

    def put(self, key: str, lines: list[Line], **condition: str) -> None:
        body = "".join(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n" for line in lines)
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body.encode(), ContentType="application/x-ndjson",
                           **condition)

    def edit(self, key: str, change: Callable[[list[Line]], list[Line]]) -> Edit:
        """Replaces the object's lines with ``change(lines)``; no lines left deletes the object."""
        for _attempt in range(EDIT_ATTEMPTS):
            before, etag = self.read(key)
            after = change(before)
            edit = Edit(before=before, after=after, existed=etag is not None)
            if not edit.changed:
                return edit
            try:
                if not after:
                    self.s3.delete_object(Bucket=self.bucket, Key=key, IfMatch=etag)
                else:
                    self.put(key, after, **({"IfMatch": etag} if etag else {"IfNoneMatch": "*"}))
                return edit
            except ClientError as error:
                if error.response["Error"]["Code"] not in _CHANGED:
                    raise
        raise ConflictError(f"raw object {key} kept changing during the edit; retry")
