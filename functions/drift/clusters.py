"""Explanation of embedding drift: which baseline topics grew or shrank in the current window.

k-means on the baseline embeddings only (the baseline defines the topics); current records are
assigned to the nearest baseline centroid, and each cluster's share is compared.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from functions.drift.kmeans import kmeans_plus_plus, nearest
from functions.drift.report import ClusterShift

EXAMPLE_CHARS = 200


def default_k(n_baseline: int) -> int:
    """About sqrt(n/2) clusters, within 2..8: enough records per cluster for a share to mean
    something, few enough topics for a person to read."""
    return max(2, min(8, round(math.sqrt(n_baseline / 2))))


def centroid_distance(baseline: np.ndarray, current: np.ndarray) -> float:
    """Cosine distance between the two windows' mean embeddings."""
    a, b = baseline.mean(axis=0), current.mean(axis=0)
    denom = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(1.0 - a @ b / denom) if denom > 0 else 0.0


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"


def examples_near(
    embeddings: np.ndarray, labels: np.ndarray, texts: Sequence[str], cluster: int, centroid: np.ndarray, count: int
) -> list[str]:
    """The ``count`` texts of ``cluster`` nearest its centroid, clipped for a report."""
    members = np.flatnonzero(labels == cluster)
    closest = members[np.argsort(((embeddings[members] - centroid) ** 2).sum(axis=1), kind="stable")]
    return [_clip(texts[i]) for i in closest[:count]]


def topic_labels(
    baseline: np.ndarray, current: np.ndarray, k: int | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centroids, baseline labels, current labels): k-means on the baseline only (the baseline
    defines the topics), each record of either window labelled by its nearest centroid."""
    data = baseline.astype(np.float64)
    # An emptied cluster keeps its centroid and reports a zero share: fine for an explanation.
    centroids, _ = kmeans_plus_plus(data, k or default_k(len(baseline)), seed)
    return centroids, nearest(data, centroids), nearest(current.astype(np.float64), centroids)


def cluster_shifts(
    baseline: np.ndarray,
    current: np.ndarray,
    baseline_texts: Sequence[str],
    current_texts: Sequence[str],
    k: int | None = None,
    seed: int = 0,
    n_examples: int = 2,
) -> list[ClusterShift]:
    """Clusters of the baseline ordered by how much their share moved (largest first).

    Examples are the texts nearest the centroid from the side that grew: current texts for a
    cluster that grew (what is new), baseline texts for one that shrank (what went missing).
    """
    centroids, labels_b, labels_c = topic_labels(baseline, current, k, seed)
    k = len(centroids)
    shares_b = np.bincount(labels_b, minlength=k) / len(labels_b)
    shares_c = np.bincount(labels_c, minlength=k) / len(labels_c)
    shifts = []
    for cluster in range(k):
        delta = float(shares_c[cluster] - shares_b[cluster])
        grew = delta > 0
        embeddings, labels, texts = (current, labels_c, current_texts) if grew else (baseline, labels_b, baseline_texts)
        shifts.append(
            ClusterShift(
                cluster=cluster,
                share_baseline=float(shares_b[cluster]),
                share_current=float(shares_c[cluster]),
                delta=delta,
                examples=examples_near(embeddings, labels, texts, cluster, centroids[cluster], n_examples),
                examples_from="current" if grew else "baseline",
            )
        )
    return sorted(shifts, key=lambda s: (-abs(s.delta), s.cluster))
