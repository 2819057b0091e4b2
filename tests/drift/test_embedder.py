"""The default embedder is the real MiniLM, normalised; the cache is content-addressed."""
from __future__ import annotations

import numpy as np
import pytest

from functions.drift import CachedEmbedder, Embedder


class CountingEmbedder:
    name = "counting/fake"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts):
        self.calls.append(list(texts))
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)


def test_cache_embeds_each_distinct_text_once(tmp_path):
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, tmp_path)
    first = cached.embed(["a", "bb", "a"])
    again = CachedEmbedder(CountingEmbedder(), tmp_path).embed(["bb", "a"])  # fresh process, same dir
    assert inner.calls == [["a", "bb"]]
    np.testing.assert_array_equal(first[[1, 0]], again)
    assert first.dtype == np.float32 and first.shape == (3, 2)
    assert (tmp_path / "counting_fake").is_dir()
    assert isinstance(cached, Embedder)


@pytest.mark.slow
def test_minilm_vectors_are_unit_length_and_semantic(embedder):
    vectors = embedder.embed(["How do I bake bread?", "Give me a recipe for a loaf of bread.", "What is 17 * 23?"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 2] + 0.2
