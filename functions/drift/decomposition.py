"""Concept drift vs data drift: the quality decay split over the baseline's prompt topics.

Shift-share over the topic clusters k of the baseline's PROMPT embeddings (the prompt mix is what
data drift means; current records go to the nearest baseline centroid, as in ``cluster_shifts``):

    ΔM = M0 - M1 = sum_k (w0_k - w1_k) q0_k  +  sum_k w1_k (q0_k - q1_k)
                   mix: the prompt mix moved    within: quality fell inside a topic

with w the share of a window's scored records in topic k and q their mean quality. Since
M = sum_k w_k q_k in each window, the two terms sum exactly to the sampled ΔM, whatever q0_k and
q1_k are taken to be where a topic is empty in one window:

- w1_k = 0 (no current record in the topic): q1_k is reported as None; its within term has weight
  0, and the mix term counts the baseline quality the topic took with it;
- w0_k = 0 (current records in a topic without scored baseline records): q0_k is taken to be M0,
  the baseline's mean (nothing is known of the topic, so it is neither better nor worse than the
  baseline), reported as None: the mix term is then -w1_k M0 and the within term w1_k (M0 - q1_k).

Quality is ``record["scores"]["quality"]``; records without one are left out of weights and
means (counted in ``unscored_*``); every record's prompt still shapes the clusters.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from functions.drift.clusters import examples_near, topic_labels
from functions.drift.report import ClusterDecay, DecayDecomposition, DriftReport

if TYPE_CHECKING:
    from functions.drift.detector import Window
    from functions.drift.embedder import Embedder

NOTE = ("ΔM = mix + within over the sampled scored records; mix = sum (w0 - w1) q0 is the prompt "
        "mix moving (data drift), within = sum w1 (q0 - q1) is quality falling inside a topic "
        "(concept drift). A topic empty in the current window has q1 = None and within 0; one "
        "without scored baseline records takes q0 = the baseline mean.")


def record_quality(records: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """``scores.quality`` of each record, NaN where it has none."""
    values = [(r.get("scores") or {}).get("quality") for r in records]
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def _share(part: float, whole: float) -> float | None:
    return part / whole if abs(whole) > 1e-12 else None


def decompose_decay(
    baseline: np.ndarray,
    current: np.ndarray,
    baseline_quality: np.ndarray,
    current_quality: np.ndarray,
    baseline_texts: Sequence[str],
    current_texts: Sequence[str],
    *,
    k: int | None = None,
    seed: int = 0,
    n_examples: int = 2,
) -> DecayDecomposition | None:
    """The shift-share split of ΔM over the topics of ``baseline`` (prompt embeddings, one row per
    record, all records); ``None`` when either window has no scored record."""
    scored_b, scored_c = np.isfinite(baseline_quality), np.isfinite(current_quality)
    if not scored_b.any() or not scored_c.any():
        return None
    centroids, labels_b, labels_c = topic_labels(baseline, current, k, seed)
    n_topics = len(centroids)
    q_b, q_c = baseline_quality[scored_b], current_quality[scored_c]
    counts_b = np.bincount(labels_b[scored_b], minlength=n_topics)
    counts_c = np.bincount(labels_c[scored_c], minlength=n_topics)
    sums_b = np.bincount(labels_b[scored_b], weights=q_b, minlength=n_topics)
    sums_c = np.bincount(labels_c[scored_c], weights=q_c, minlength=n_topics)
    w0, w1 = counts_b / counts_b.sum(), counts_c / counts_c.sum()
    m0, m1 = float(q_b.mean()), float(q_c.mean())
    q0 = np.where(counts_b > 0, sums_b / np.maximum(counts_b, 1), m0)
    q1 = np.where(counts_c > 0, sums_c / np.maximum(counts_c, 1), 0.0)  # weight 0 where empty
    mix, within = (w0 - w1) * q0, w1 * (q0 - q1)
    rows = []
    for topic in range(n_topics):
        from_baseline = bool((labels_b == topic).any())  # the topic as the baseline defines it
        embeddings, labels, texts = ((baseline, labels_b, baseline_texts) if from_baseline
                                     else (current, labels_c, current_texts))
        rows.append(ClusterDecay(
            cluster=topic, n_baseline=int(counts_b[topic]), n_current=int(counts_c[topic]),
            weight_baseline=float(w0[topic]), weight_current=float(w1[topic]),
            quality_baseline=float(q0[topic]) if counts_b[topic] else None,
            quality_current=float(q1[topic]) if counts_c[topic] else None,
            mix=float(mix[topic]), within=float(within[topic]),
            examples=examples_near(embeddings, labels, texts, topic, centroids[topic], n_examples),
            examples_from="baseline" if from_baseline else "current",
        ))
    total_mix, total_within, delta = float(mix.sum()), float(within.sum()), m0 - m1
    return DecayDecomposition(
        delta=delta, baseline_mean=m0, current_mean=m1, mix=total_mix, within=total_within,
        mix_share=_share(total_mix, delta), within_share=_share(total_within, delta),
        n_baseline=int(scored_b.sum()), n_current=int(scored_c.sum()),
        unscored_baseline=int((~scored_b).sum()), unscored_current=int((~scored_c).sum()),
        clusters=sorted(rows, key=lambda r: (-abs(r.mix + r.within), r.cluster)),
        note=NOTE,
    )


def with_decomposition(
    report: DriftReport,
    baseline: Window,
    current: Window,
    baseline_records: Sequence[Mapping[str, Any]],
    current_records: Sequence[Mapping[str, Any]],
) -> DriftReport:
    """The prompt report with its ``decay_decomposition`` on the report's own topic clusters (same
    embeddings, k and seed), when both windows carry qualities."""
    decomposition = decompose_decay(
        baseline.embeddings, current.embeddings, record_quality(baseline_records), record_quality(current_records),
        baseline.texts, current.texts, k=len(report.clusters), seed=report.seed,
    )
    return report.model_copy(update={"decay_decomposition": decomposition})


def decompose_records(
    baseline: Sequence[Mapping[str, Any]],
    current: Sequence[Mapping[str, Any]],
    embedder: Embedder,
    *,
    k: int | None = None,
    seed: int = 0,
) -> DecayDecomposition | None:
    """``decompose_decay`` on two lists of interaction records (``prompt`` and ``scores.quality``);
    ``None``, without embedding anything, when either list has no quality or a record has no text
    prompt (an output-only file can still be tested for output drift)."""
    quality_b, quality_c = record_quality(baseline), record_quality(current)
    if not np.isfinite(quality_b).any() or not np.isfinite(quality_c).any():
        return None
    if not all(isinstance(r.get("prompt"), str) for r in (*baseline, *current)):
        return None
    prompts_b, prompts_c = [r["prompt"] for r in baseline], [r["prompt"] for r in current]
    return decompose_decay(embedder.embed(prompts_b), embedder.embed(prompts_c), quality_b, quality_c,
                           prompts_b, prompts_c, k=k, seed=seed)
