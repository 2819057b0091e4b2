"""The ONNX embedder (what the drift check ships) against sentence-transformers on torch (fp32),
on real texts: prompts and outputs of every alpaca_eval file and gsm8k, short and long (past the
256-token truncation). benchmarks/bench_embeddings.py measures all of them and the speed."""
from __future__ import annotations

import json

import numpy as np
import pytest

from driftgate.paths import data_dir, embedding_cache
from functions.drift import CachedEmbedder, MiniLMEmbedder
from functions.drift.onnx_embedder import ONNX_MODEL_NAME, OnnxMiniLMEmbedder

pytestmark = pytest.mark.slow


def _sample(per_file: int = 12) -> list[str]:
    files = sorted((data_dir() / "alpaca_eval").glob("*.jsonl")) + [data_dir() / "gsm8k" / "test.jsonl"]
    texts: list[str] = []
    for n, path in enumerate(files):
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        for i in np.random.default_rng(n).choice(len(records), per_file, replace=False):
            texts += [records[i][field] for field in ("prompt", "output") if records[i].get(field)]
    return list(dict.fromkeys(texts))


def test_onnx_vectors_match_sentence_transformers_on_real_texts() -> None:
    texts = _sample()
    assert max(map(len, texts)) > 2000  # some are truncated at 256 tokens on both sides
    ours = OnnxMiniLMEmbedder(threads=1).embed(texts)
    reference = CachedEmbedder(MiniLMEmbedder(), embedding_cache()).embed(texts)
    assert ours.shape == reference.shape == (len(texts), 384) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)
    cosine = np.sum(ours * reference, axis=1)
    # int8 weights: the mean stays above 0.99; single texts dip to ~0.986 (docs/drift.md).
    assert cosine.mean() >= 0.99, cosine.mean()
    assert cosine.min() >= 0.98, sorted(cosine)[:5]


@pytest.mark.xfail(strict=True, reason="dynamic int8 quantizes activations per batch (padding included): "
                                       "a text's vector depends on its batchmates, cosine down to ~0.974")
def test_onnx_embedder_keeps_order_and_is_close_across_batchings() -> None:
    texts = ["short", "a much longer sentence about baking bread at home " * 8, "", "short"]
    embedder = OnnxMiniLMEmbedder(batch_size=2, threads=1)
    vectors = embedder.embed(texts)
    alone = np.concatenate([OnnxMiniLMEmbedder(batch_size=1, threads=1).embed([t]) for t in texts])
    # Dynamic int8 scales activations per batch, padding included: batchmates move a vector a little.
    assert np.all(np.sum(vectors * alone, axis=1) >= 0.98)
    np.testing.assert_allclose(alone[0], alone[3], atol=1e-6)
    assert embedder.embed([]).shape == (0, 384) and embedder.name == ONNX_MODEL_NAME
