"""The baseline sample's embeddings, computed once and kept in S3 beside the raw interactions.

A baseline is frozen by the API or the Promote task, neither of which carries an embedding
model, so the first check after a freeze embeds the baseline sample and stores the vectors; every
later check loads them and embeds only the current window. One object per (model, field)
records the embedder's name and a hash of the exact texts, in order: a changed embedder or a
changed sample (an erasure rewrote the baseline reservoir) recomputes and overwrites it. The raw
bucket is unversioned, so an overwrite leaves no copy of an erased text's vector behind.
"""
from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from botocore.exceptions import ClientError

from functions.common.contract import baseline_embeddings_key, settings
from functions.drift import Embedder

# S3 user metadata (lower case: S3 folds the names).
EMBEDDER_KEY = "embedder"
SAMPLE_KEY = "sample-sha256"


def sample_hash(texts: Sequence[str]) -> str:
    return hashlib.sha256(json.dumps(list(texts), ensure_ascii=False).encode()).hexdigest()


class StoredBaseline:
    """An ``Embedder`` for one model's baseline texts of one field: the stored vectors when they
    were computed by the same embedder from the same texts, else the inner embedder's (stored)."""

    def __init__(self, inner: Embedder, s3: Any, model: str, field: str) -> None:
        self.inner = inner
        self.name = inner.name
        self.s3 = s3
        self.key = baseline_embeddings_key(model, field)
        self.reused: bool | None = None  # after embed(): whether the stored vectors were used

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        digest = sample_hash(texts)
        stored = self._load(digest)
        self.reused = stored is not None and len(stored) == len(texts)
        if stored is not None and self.reused:
            return stored
        vectors = np.asarray(self.inner.embed(texts), dtype=np.float32)
        buffer = io.BytesIO()
        np.save(buffer, vectors, allow_pickle=False)
        self.s3.put_object(Bucket=settings.raw_bucket, Key=self.key, Body=buffer.getvalue(),
                           ContentType="application/octet-stream",
                           Metadata={EMBEDDER_KEY: self.name, SAMPLE_KEY: digest})
        return vectors

    def _load(self, digest: str) -> np.ndarray | None:
        try:
            response = self.s3.get_object(Bucket=settings.raw_bucket, Key=self.key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        metadata = response.get("Metadata", {})
        if metadata.get(EMBEDDER_KEY) != self.name or metadata.get(SAMPLE_KEY) != digest:
            response["Body"].close()
            return None
        return np.load(io.BytesIO(response["Body"].read()), allow_pickle=False)
