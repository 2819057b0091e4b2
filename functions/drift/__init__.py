"""Drift and quality-decay checks for a window of interactions against a frozen baseline.

Pure numpy/scipy; the only model is the embedder plug-in (default: offline all-MiniLM-L6-v2,
loaded lazily). What a Lambda calls:

- ``detect_drift(baseline_records, current_records, field)`` -> ``DriftReport`` (or
  ``compare_windows`` on precomputed ``Window``\\ s: embeddings + descriptors + texts);
- ``quality_decay(baseline_quality, current_quality, threshold, min_samples)`` -> ``QualityDecay``;
- ``Reservoir`` for a bounded random sample of each window.
"""
from functions.drift.decay import quality_decay
from functions.drift.detector import (
    METHOD,
    MIN_SAMPLES,
    DriftInputError,
    Window,
    compare_windows,
    detect_drift,
    window_from_records,
)
from functions.drift.embedder import CachedEmbedder, Embedder, MiniLMEmbedder, default_embedder
from functions.drift.mmd import MMDResult, mmd_test
from functions.drift.report import ClusterShift, DriftReport, QualityDecay, TestResult
from functions.drift.reservoir import Reservoir

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
    "QualityDecay",
    "Reservoir",
    "TestResult",
    "Window",
    "compare_windows",
    "default_embedder",
    "detect_drift",
    "mmd_test",
    "quality_decay",
    "window_from_records",
]
