"""S3 access of the pipeline tasks: raw interactions in, datasets and adapters out."""
from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from functions.common.clients import client, region
from functions.common.contract import settings

# Concurrent GETs of raw objects: S3 serves thousands of GETs per second per prefix, and each
# object is small (one ingest batch of one day), so a sequential read is bound by request latency.
RAW_READERS = 16


def split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


@dataclass(frozen=True)
class ArtifactStore:
    s3: Any
    raw_bucket: str
    artifacts_bucket: str

    def raw_days(self, model: str) -> list[str]:
        """The model's date partitions (``raw/model=<m>/date=<day>/``), oldest first."""
        prefix = f"raw/model={model}/date="
        paginator = self.s3.get_paginator("list_objects_v2")
        return sorted(common["Prefix"][len(prefix):].rstrip("/")
                      for page in paginator.paginate(Bucket=self.raw_bucket, Prefix=prefix, Delimiter="/")
                      for common in page.get("CommonPrefixes", []))

    def raw_records(self, model: str, days: Sequence[str] | None = None, *, readers: int = RAW_READERS,
                    expired: list[str] | None = None) -> Iterator[dict[str, Any]]:
        """The raw interactions of ``days`` (every day when None), each ``request_id`` once (a
        retried batch may have written a record into two objects). ``readers`` objects are read at
        a time, in order; at most twice that many bodies are held at once. An object listed but
        gone by its read (its text retention ran out meanwhile) is skipped and its key appended
        to ``expired``."""
        prefixes = ([f"raw/model={model}/date={day}/" for day in days] if days is not None
                    else [f"raw/model={model}/"])
        paginator = self.s3.get_paginator("list_objects_v2")
        keys = (obj["Key"] for prefix in prefixes
                for page in paginator.paginate(Bucket=self.raw_bucket, Prefix=prefix)
                for obj in page.get("Contents", []))
        seen: set[str] = set()
        with ThreadPoolExecutor(max_workers=readers) as pool:
            while chunk := list(islice(keys, 2 * readers)):
                for key, body in zip(chunk, pool.map(self._read_raw, chunk), strict=True):
                    if body is None:
                        if expired is not None:
                            expired.append(key)
                        continue
                    for line in body.splitlines():
                        record = json.loads(line)
                        if record["request_id"] not in seen:
                            seen.add(record["request_id"])
                            yield record

    def _read_raw(self, key: str) -> str | None:
        try:
            return str(self.s3.get_object(Bucket=self.raw_bucket, Key=key)["Body"].read().decode())
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise

    def upload_file(self, path: Path, key: str) -> str:
        self.s3.upload_file(str(path), self.artifacts_bucket, key)
        return f"s3://{self.artifacts_bucket}/{key}"

    def exists(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.artifacts_bucket, Key=key)
            return True
        except ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def download(self, uri: str, path: Path) -> Path:
        bucket, key = split_s3_uri(uri)
        self.s3.download_file(bucket, key, str(path))
        return path

    def read_tarball(self, uri: str) -> dict[str, bytes]:
        """The files of a SageMaker ``model.tar.gz``, by path inside the archive."""
        bucket, key = split_s3_uri(uri)
        body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        files: dict[str, bytes] = {}
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
            for member in tar.getmembers():
                if member.isfile() and (handle := tar.extractfile(member)) is not None:
                    files[member.name.removeprefix("./")] = handle.read()
        return files


@lru_cache(maxsize=8)
def _build(region_name: str | None, raw_bucket: str, artifacts_bucket: str) -> ArtifactStore:
    return ArtifactStore(client("s3"), raw_bucket, artifacts_bucket)


def artifact_store() -> ArtifactStore:
    return _build(region(), settings.raw_bucket, settings.artifacts_bucket)
