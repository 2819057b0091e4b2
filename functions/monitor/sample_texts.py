"""The texts of a sample's records, which the drift check embeds, read from the raw objects its
entries name. Raw objects expire ``raw_text_retention_days`` after ingest (S3 lifecycle): an
entry whose object is gone is skipped and counted, never an error.

The frozen baseline is compared against for as long as it stays frozen, usually longer than the
text retention, so the first check after a freeze copies its sample's lines to one object of
their own (``baseline_records_key``, which no lifecycle rule expires); later checks read that
copy. A new freeze's sample takes the lines it lacks from ``raw/`` and drops the old ones, and an
erasure rewrites the copy without the user's lines. The copy is written only if it is unchanged
since it was read, so a check that raced an erasure cannot write an erased line back."""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from functions.common.contract import baseline_records_key, settings
from functions.common.repositories import Repositories
from functions.interactions.raw import JsonLinesObjects

_GONE = ("NoSuchKey", "404")
_CHANGED = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")


@dataclass(frozen=True)
class SampleTexts:
    """A sample's raw records, in entry order, and how many entries had no text left to read."""

    records: list[dict[str, Any]]
    expired: int


def sampled_records(repos: Repositories, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The raw interactions a sample's entries point to, read from their S3 objects (in entry
    order); entries whose object has expired are left out."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for item in entries:
        wanted[item["raw_key"]].add(item["request_id"])
    found: dict[str, dict[str, Any]] = {}
    for key, ids in wanted.items():
        try:
            body = repos.s3.get_object(Bucket=settings.raw_bucket, Key=key)["Body"].read().decode()
        except ClientError as error:
            if error.response["Error"]["Code"] in _GONE:
                continue
            raise
        found.update((r["request_id"], r) for r in map(json.loads, body.splitlines()) if r["request_id"] in ids)
    return [found[e["request_id"]] for e in entries if e["request_id"] in found]


def window_texts(repos: Repositories, entries: list[dict[str, Any]]) -> SampleTexts:
    records = sampled_records(repos, entries)
    return SampleTexts(records=records, expired=len(entries) - len(records))


def baseline_texts(repos: Repositories, model: str, entries: list[dict[str, Any]]) -> SampleTexts:
    """The frozen baseline sample's records: from its copy, and from ``raw/`` for entries the copy
    lacks (then the copy is rewritten with exactly the sample's lines)."""
    objects = JsonLinesObjects(repos.s3, settings.raw_bucket)
    key = baseline_records_key(model)
    copied, etag = objects.read(key)
    wanted = {e["request_id"] for e in entries}
    kept = {line["request_id"]: line for line in copied if line["request_id"] in wanted}
    fetched = sampled_records(repos, [e for e in entries if e["request_id"] not in kept])
    found = {**kept, **{r["request_id"]: r for r in fetched}}
    records = [found[e["request_id"]] for e in entries if e["request_id"] in found]
    if fetched or len(kept) < len(copied):
        try:
            objects.put(key, records, **({"IfMatch": etag} if etag else {"IfNoneMatch": "*"}))
        except ClientError as error:
            if error.response["Error"]["Code"] not in _CHANGED:
                raise  # else an erasure rewrote it meanwhile: the next check copies again
    return SampleTexts(records=records, expired=len(entries) - len(records))
