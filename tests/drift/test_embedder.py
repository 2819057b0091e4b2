"""The default embedder is the real MiniLM, normalised; the cache is content-addressed."""
from __future__ import annotations

import numpy as np
import pytest

from functions.common.contract import Settings
from functions.drift import CachedEmbedder, Embedder, MiniLMEmbedder, default_embedder

CACHE_DIR_VARIABLE = Settings.embedding_cache_dir.name


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


def test_the_default_embedder_caches_only_where_it_is_told(tmp_path, monkeypatch):
    """No cache unless the caller passes a folder or the setting names one (read at each call);
    nothing loads the model here."""
    monkeypatch.delenv(CACHE_DIR_VARIABLE, raising=False)
    assert isinstance(default_embedder(), MiniLMEmbedder)  # a deployed drift check
    explicit = default_embedder(tmp_path / "passed")
    assert isinstance(explicit, CachedEmbedder) and explicit.root == tmp_path / "passed" / "all-MiniLM-L6-v2"
    monkeypatch.setenv(CACHE_DIR_VARIABLE, str(tmp_path / "set"))
    assert default_embedder().root == tmp_path / "set" / "all-MiniLM-L6-v2"  # the local mode's handlers
    assert default_embedder(tmp_path / "passed").root == explicit.root  # an argument wins
    assert default_embedder().inner is explicit.inner  # one model per process, cached or not


@pytest.mark.slow
def test_minilm_vectors_are_unit_length_and_semantic(embedder):
    vectors = embedder.embed(["How do I bake bread?", "Give me a recipe for a loaf of bread.", "What is 17 * 23?"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 2] + 0.2
