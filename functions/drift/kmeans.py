"""k-means++ and nearest-centroid labels in numpy: ``scipy.cluster.vq.kmeans2(data, k, minit="++",
rng=seed)`` and ``vq`` with the same random draws and iterations, so the drift check's cluster
explanations are scipy's without shipping scipy (tests/drift/test_kmeans.py compares them)."""
from __future__ import annotations

import numpy as np

ITERATIONS = 10  # kmeans2's default


def squared_distances(data: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """(n, k) squared Euclidean distances, one centroid at a time (an (n, k, d) temporary is large)."""
    return np.stack([((data - centroid) ** 2).sum(axis=1) for centroid in centroids], axis=1)


def nearest(data: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """The index of each row's nearest centroid (the first on a tie)."""
    return squared_distances(data, centroids).argmin(axis=1)


def kmeans_plus_plus(data: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(centroids, labels) of ``data`` (float64 rows): k-means++ seeding, then ``ITERATIONS`` Lloyd
    steps; a cluster left empty keeps its previous centroid."""
    rng = np.random.default_rng(seed)
    centroids = np.empty((k, data.shape[1]))
    for i in range(k):
        if i == 0:
            index = int(rng.integers(data.shape[0]))
        else:
            closest = squared_distances(data, centroids[:i]).min(axis=1)
            index = int(np.searchsorted((closest / closest.sum()).cumsum(), rng.uniform()))
        centroids[i] = data[index]
    labels = nearest(data, centroids)
    for _ in range(ITERATIONS):
        labels = nearest(data, centroids)
        counts = np.bincount(labels, minlength=k)
        sums = np.zeros_like(centroids)
        np.add.at(sums, labels, data)
        centroids = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], centroids)
    return centroids, labels
