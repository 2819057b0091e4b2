"""Drift and quality-decay checks for a window of interactions against a frozen baseline.

Pure numpy; the only model is the embedder plug-in (default: all-MiniLM-L6-v2 in ONNX Runtime,
loaded lazily). What a Lambda calls:

- ``detect_drift(baseline_records, current_records, field)`` -> ``DriftReport`` (or
  ``compare_windows`` on precomputed ``Window``\\ s: embeddings + descriptors + texts);
- ``quality_decay(baseline_quality, current_quality, threshold, min_samples)`` -> ``QualityDecay``.
"""
from __future__ import annotations

import importlib
from typing import Any

# Names resolve lazily (PEP 562): a caller that needs one name should not pay for the clustering,
# the statistics and the embedder at cold start.
_EXPORTS = {
    "quality_decay": "decay",
    "METHOD": "detector", "MIN_SAMPLES": "detector", "DriftInputError": "detector", "Window": "detector",
    "compare_windows": "detector", "detect_drift": "detector", "window_from_records": "detector",
    "CachedEmbedder": "embedder", "Embedder": "embedder", "MiniLMEmbedder": "embedder",
    "default_embedder": "embedder", "OnnxMiniLMEmbedder": "onnx_embedder",
    "MMDResult": "mmd", "mmd_test": "mmd",
    "ClusterShift": "report", "DriftReport": "report", "QualityDecay": "report", "TestResult": "report",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)


__all__ = [
    "METHOD",
    "MIN_SAMPLES",
    "CachedEmbedder",
    "ClusterShift",
    "DriftInputError",
    "DriftReport",
    "Embedder",
    "MMDResult",
    "MiniLMEmbedder",
    "OnnxMiniLMEmbedder",
    "QualityDecay",
    "TestResult",
    "Window",
    "compare_windows",
    "default_embedder",
    "detect_drift",
    "mmd_test",
    "quality_decay",
    "window_from_records",
]
