"""The stored baseline vectors: reused for the same embedder and texts, recomputed (and overwritten)
when either changes."""
from __future__ import annotations

from collections.abc import Sequence

import boto3
import numpy as np
import pytest
from moto import mock_aws

from functions.common.contract import baseline_embeddings_key
from functions.monitor.baseline_vectors import StoredBaseline

BUCKET = "raw"


class Counting:
    """A deterministic stand-in embedder that counts its calls."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        rng = np.random.default_rng(len(self.name))
        return rng.standard_normal((len(texts), 4)).astype(np.float32)


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.setenv("RAW_BUCKET", BUCKET)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_reused_for_the_same_embedder_and_texts(s3) -> None:
    inner = Counting("minilm")
    first = StoredBaseline(inner, s3, "a/b", "prompt").embed(["x", "y"])
    again = StoredBaseline(inner, s3, "a/b", "prompt")
    assert np.array_equal(again.embed(["x", "y"]), first) and again.reused and inner.calls == 1
    assert first.dtype == np.float32
    assert s3.list_objects_v2(Bucket=BUCKET)["Contents"][0]["Key"] == baseline_embeddings_key("a/b", "prompt")
    assert baseline_embeddings_key("a/b", "prompt") == "baselines/a%2Fb/prompt.npy"


@pytest.mark.parametrize(("name", "texts"), [("minilm", ["x", "z"]), ("minilm", ["y", "x"]), ("onnx", ["x", "y"])])
def test_a_changed_sample_or_embedder_recomputes_and_overwrites(s3, name: str, texts: list[str]) -> None:
    StoredBaseline(Counting("minilm"), s3, "m", "output").embed(["x", "y"])
    inner = Counting(name)
    changed = StoredBaseline(inner, s3, "m", "output")
    changed.embed(texts)
    assert inner.calls == 1 and changed.reused is False
    assert len(s3.list_objects_v2(Bucket=BUCKET)["Contents"]) == 1  # overwritten, not kept beside
    assert StoredBaseline(inner, s3, "m", "output").embed(texts) is not None and inner.calls == 1
