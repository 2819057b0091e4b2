"""Interpretable per-record descriptors and their two-sample statistics under permutation.

Embedding MMD misses changes that a reader sees at once (answers twice as long, more
refusals): MiniLM embeds meaning, and it truncates long answers. Descriptors cover that:

- text shape (any field): characters, words, non-empty lines, and the style counts of
  ``style.style_descriptors`` (lists, headings, bold, code, sentence length, diversity, digits);
- for outputs, from the scorer pack or the record's stored ``scores``: ``quality`` and one
  0/1 descriptor per raised flag (``flag:refusal``, ...). No reference is needed.

Continuous descriptors are compared with the Kolmogorov-Smirnov statistic, 0/1 ones with the
difference of rates; both are computed for a whole batch of labellings at once.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from functions.drift.report import TestKind
from functions.drift.style import style_descriptors

Descriptors = dict[str, np.ndarray]
FLAG_PREFIX = "flag:"


def text_descriptors(texts: Sequence[str]) -> Descriptors:
    """Length in characters, words and non-empty lines, then the style descriptors."""
    return {
        "chars": np.array([len(t) for t in texts], dtype=np.float64),
        "words": np.array([len(t.split()) for t in texts], dtype=np.float64),
        "lines": np.array([sum(1 for line in t.splitlines() if line.strip()) for t in texts], dtype=np.float64),
        **style_descriptors(texts),
    }


def _stored_scores(record: Mapping[str, Any]) -> tuple[float, list[str]] | None:
    scores = record.get("scores")
    if isinstance(scores, Mapping) and scores.get("quality") is not None:
        return float(scores["quality"]), list(scores.get("flags") or [])
    return None


def _scorer():
    try:
        from functions.scoring import score
    except ImportError:  # the scorer pack is optional for drift: lengths still work
        return None
    return score


def score_descriptors(records: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, list[list[str]]] | None:
    """Quality and flags of each record: stored ``scores`` first, else the scorer pack.

    ``None`` when some record has no stored scores and the scorer pack is not installed: a
    descriptor must exist for every record or for none.
    """
    quality = np.empty(len(records))
    flags: list[list[str]] = []
    score = None
    for i, record in enumerate(records):
        stored = _stored_scores(record)
        if stored is None:
            score = score or _scorer()
            if score is None:
                return None
            report = score(record.get("prompt") or "", record.get("output") or "")
            stored = (float(report.quality), list(report.flags))
        quality[i], record_flags = stored
        flags.append(record_flags)
    return quality, flags


def record_descriptors(
    records: Sequence[Mapping[str, Any]], field: str, with_scores: bool = True
) -> Descriptors:
    """Descriptors of ``record[field]`` for each record; for outputs also quality and flags.

    Flags become ``flag:<name>`` boolean arrays for every flag raised anywhere in these records;
    ``align_descriptors`` fills in a flag that only the other window raised.
    """
    descriptors = text_descriptors([record[field] for record in records])
    if field == "output" and with_scores:
        scored = score_descriptors(records)
        if scored is not None:
            quality, flags = scored
            descriptors["quality"] = quality
            for name in sorted({flag for record_flags in flags for flag in record_flags}):
                descriptors[FLAG_PREFIX + name] = np.array([name in f for f in flags], dtype=bool)
    return descriptors


def align_descriptors(baseline: Descriptors, current: Descriptors) -> tuple[Descriptors, Descriptors]:
    """Same descriptor names on both sides: a flag absent from one window is all False there;
    any other descriptor missing on one side is dropped (it cannot be compared)."""
    baseline, current = dict(baseline), dict(current)
    n_b = len(next(iter(baseline.values()))) if baseline else 0
    n_c = len(next(iter(current.values()))) if current else 0
    for name in set(baseline) | set(current):
        if name.startswith(FLAG_PREFIX):
            baseline.setdefault(name, np.zeros(n_b, dtype=bool))
            current.setdefault(name, np.zeros(n_c, dtype=bool))
    shared = sorted(set(baseline) & set(current))
    return {k: baseline[k] for k in shared}, {k: current[k] for k in shared}


def ks_for_masks(values: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Two-sample KS statistic sup|F_x - F_y| for each labelling row of ``masks``."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    # Compare the ECDFs only where the value changes, so tied values move together.
    steps = np.flatnonzero(np.append(ordered[1:] != ordered[:-1], True))
    labels = masks[:, order]
    n_x = int(labels[0].sum())
    n_y = labels.shape[1] - n_x
    # In counts: |F_x - F_y| * n_x * n_y = |below_x * n_y - below_y * n_x| with below_y = i + 1 - below_x,
    # integer arithmetic on the (labellings, steps) array and one division at the end.
    wide = np.int64 if labels.shape[1] > 40_000 else np.int32
    below_x = np.cumsum(labels, axis=1, dtype=wide)[:, steps]
    gap = np.abs(below_x * (n_x + n_y) - (steps + 1).astype(wide) * n_x)
    return gap.max(axis=1) / (n_x * n_y)


def rate_gap_for_masks(flags: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """|rate_x - rate_y| of a 0/1 descriptor for each labelling: with the pooled count fixed,
    this orders labellings exactly as the 2x2 chi-square statistic does."""
    n_x = masks[0].sum()
    n_y = masks.shape[1] - n_x
    hits_x = masks.astype(np.int64) @ flags.astype(np.int64)
    return np.abs(hits_x / n_x - (flags.sum() - hits_x) / n_y)


def descriptor_stats(values: np.ndarray, masks: np.ndarray) -> tuple[TestKind, np.ndarray]:
    """The test that fits the descriptor (KS or rate gap) and its statistic per labelling."""
    if values.dtype == bool:
        return "rate-gap", rate_gap_for_masks(values, masks)
    return "ks", ks_for_masks(values.astype(np.float64), masks)


def summary(values: np.ndarray) -> float:
    """What a person compares: the rate of a 0/1 descriptor, else the median."""
    if values.size == 0:
        return float("nan")
    return float(values.mean()) if values.dtype == bool else float(np.median(values))
