"""The default embedder is the drift check's ONNX MiniLM, normalised; the cache is content-addressed."""
from __future__ import annotations

import numpy as np
import pytest

from driftgate.paths import embedding_model
from functions.common.contract import MissingSetting, Settings
from functions.drift import CachedEmbedder, Embedder, OnnxMiniLMEmbedder, default_embedder

CACHE_DIR_VARIABLE = Settings.embedding_cache_dir.name
MODEL_DIR_VARIABLE = Settings.embedding_model_dir.name


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
    the model folder comes from the argument or the setting; nothing loads the model here."""
    monkeypatch.delenv(CACHE_DIR_VARIABLE, raising=False)
    monkeypatch.delenv(MODEL_DIR_VARIABLE, raising=False)
    with pytest.raises(MissingSetting, match=MODEL_DIR_VARIABLE):
        default_embedder()
    monkeypatch.setenv(MODEL_DIR_VARIABLE, str(embedding_model()))
    deployed = default_embedder()  # a deployed drift check: the model layer's folder, no cache
    assert isinstance(deployed, OnnxMiniLMEmbedder) and deployed.directory == embedding_model()
    explicit = default_embedder(tmp_path / "passed")
    assert isinstance(explicit, CachedEmbedder) and explicit.root == tmp_path / "passed" / deployed.name
    monkeypatch.setenv(CACHE_DIR_VARIABLE, str(tmp_path / "set"))
    assert default_embedder().root == tmp_path / "set" / deployed.name  # the local mode's handlers
    assert default_embedder(tmp_path / "passed").root == explicit.root  # an argument wins
    assert default_embedder().inner is explicit.inner is deployed  # one model per process, cached or not
    assert default_embedder(model_dir=embedding_model()).inner is deployed


@pytest.mark.slow
def test_minilm_vectors_are_unit_length_and_semantic(embedder):
    vectors = embedder.embed(["How do I bake bread?", "Give me a recipe for a loaf of bread.", "What is 17 * 23?"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 2] + 0.2
