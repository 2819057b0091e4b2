"""Erasure from the frozen golden sets (``golden/<model>/``, rows keyed by request id), which every
later pipeline run evaluates on. The artifacts bucket is versioned, so rewriting a golden object
leaves its older versions behind: they are deleted too, or the erased rows would stay readable."""
from __future__ import annotations

from typing import Any

from functions.interactions.raw import JsonLinesObjects


class GoldenSets:
    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3 = s3
        self.objects = JsonLinesObjects(s3, bucket)
        self.bucket = bucket

    def _versions(self, prefix: str) -> list[dict[str, Any]]:
        pages = self.s3.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=prefix)
        return [v for page in pages for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]

    def keys(self, model: str) -> list[str]:
        """Every key that has a version, deleted ones too (their old versions still hold rows)."""
        return sorted({version["Key"] for version in self._versions(f"golden/{model}/")})

    def erase(self, model: str, request_ids: set[str]) -> tuple[int, int]:
        """(rows removed, old object versions deleted) of the model's golden set."""
        rows = versions = 0
        for key in self.keys(model):
            edit = self.objects.edit(key, lambda lines: [line for line in lines if line.get("id") not in request_ids])
            rows += len(edit.before) - len(edit.after)
            # Unconditionally, so a retry finishes an erasure that failed between rewrite and cleanup;
            # the golden set is frozen once, so its old versions only ever come from erasures.
            versions += self.delete_old_versions(key)
        return rows, versions

    def delete_old_versions(self, key: str) -> int:
        """Deletes every version of ``key`` but the current object (delete markers too)."""
        deleted = 0
        for version in self._versions(key):
            is_current_object = version.get("IsLatest") and "Size" in version  # delete markers have no Size
            if version["Key"] != key or is_current_object:
                continue
            self.s3.delete_object(Bucket=self.bucket, Key=key, VersionId=version["VersionId"])
            deleted += 1
        return deleted
