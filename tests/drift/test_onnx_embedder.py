"""The ONNX embedder (what the drift check runs) against sentence-transformers on torch (fp32), on
real texts: every prompt and output of ../shared/data up to 24 tokens (the short ones are where int8
is least exact) and a seeded sample of the longer ones, past the 256-token truncation too.
benchmarks/bench_embeddings.py measures all 6,143 texts and the speed."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from driftgate.paths import REPO_ROOT, data_dir, embedding_cache, embedding_model
from functions.common.contract import Settings
from functions.drift import CachedEmbedder, MiniLMEmbedder, OnnxMiniLMEmbedder
from functions.drift.onnx_embedder import DIMENSIONS, SHORT_TOKENS

pytestmark = pytest.mark.slow
MIN_COSINE = 0.99  # issue #14: for every text


def real_texts() -> list[str]:
    files = sorted((data_dir() / "alpaca_eval").glob("*.jsonl")) + [data_dir() / "gsm8k" / "test.jsonl"]
    records = [json.loads(line) for path in files for line in path.read_text(encoding="utf-8").splitlines()]
    texts = [record[field] for record in records for field in ("prompt", "output") if record.get(field)]
    return list(dict.fromkeys(texts))


@pytest.fixture(scope="module")
def onnx() -> OnnxMiniLMEmbedder:
    return OnnxMiniLMEmbedder(embedding_model(), threads=1)


@pytest.fixture(scope="module")
def sample(onnx: OnnxMiniLMEmbedder) -> list[str]:
    texts = real_texts()
    lengths = np.array(onnx.token_counts(texts))
    longer = np.flatnonzero(lengths > 24)
    picked = np.concatenate([np.flatnonzero(lengths <= 24),
                             np.random.default_rng(0).choice(longer, 120, replace=False)])
    assert (lengths[picked] <= SHORT_TOKENS).sum() > 300 and (lengths[picked] == 256).sum() > 20
    return [texts[i] for i in sorted(picked)]


def test_onnx_vectors_match_sentence_transformers_on_real_texts(onnx, sample) -> None:
    ours = onnx.embed(sample)
    reference = CachedEmbedder(MiniLMEmbedder(), embedding_cache()).embed(sample)
    assert ours.shape == reference.shape == (len(sample), DIMENSIONS) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)
    cosine = np.sum(ours * reference, axis=1)
    worst = [(round(float(cosine[i]), 4), sample[i][:40]) for i in np.argsort(cosine)[:5]]
    assert cosine.min() >= MIN_COSINE, worst
    assert cosine.mean() >= 0.998, cosine.mean()


def test_a_vector_does_not_depend_on_its_batchmates(onnx, sample) -> None:
    texts = sample[::25]
    together = onnx.embed(texts)
    alone = np.concatenate([onnx.embed([text]) for text in reversed(texts)])[::-1]
    np.testing.assert_array_equal(together, alone)
    assert onnx.embed([]).shape == (0, DIMENSIONS)


def test_the_drift_check_cold_starts_without_torch() -> None:
    """A fresh process as Lambda starts one: the handler module imports without ONNX Runtime (it
    loads on the first embed), and nothing of torch, transformers or scipy loads at all. The
    times are recorded (printed), not asserted: benchmarks/bench_embeddings.py measures them."""
    probe = f"""
import json, sys, time
started = time.perf_counter()
import functions.monitor.drift_check
imported = time.perf_counter()
loaded = {{m.split(".")[0] for m in sys.modules}}
assert not {{"onnxruntime", "tokenizers"}} & loaded, "the handler's import loads the embedder"
from functions.drift import default_embedder
vectors = default_embedder().embed(["How do I bake bread?", "Yes."])
done = time.perf_counter()
assert vectors.shape == (2, {DIMENSIONS}), vectors.shape
heavy = sorted({{"torch", "transformers", "sentence_transformers", "scipy"}} & {{m.split(".")[0] for m in sys.modules}})
assert not heavy, heavy
print(json.dumps({{"import_s": imported - started, "first_embed_s": done - imported}}))
"""
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
                          env={"POWERTOOLS_TRACE_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1",
                               "OMP_NUM_THREADS": "1", Settings.embedding_model_dir.name: str(embedding_model())})
    assert done.returncode == 0, done.stderr[-3000:]
    times = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"drift check cold start: import {times['import_s']:.2f} s, first embed {times['first_embed_s']:.2f} s")
