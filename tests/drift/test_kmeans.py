"""The drift check's k-means++ (no scipy in the function) gives scipy's ``kmeans2(minit="++")`` and
``vq`` results on real embeddings: the same centroids, labels and cluster explanations."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.cluster.vq import kmeans2, vq

from functions.drift.clusters import default_k
from functions.drift.kmeans import kmeans_plus_plus, nearest
from tests.drift.conftest import MIXTRAL, draw, load


@pytest.fixture(scope="module")
def vectors(embedder) -> tuple[np.ndarray, np.ndarray]:
    records = load(f"{MIXTRAL}_concise")
    baseline, current = draw(records, 200, seed=1), draw(records, 150, seed=2)
    return (embedder.embed([r["output"] for r in baseline]).astype(np.float64),
            embedder.embed([r["output"] for r in current]).astype(np.float64))


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_same_centroids_and_labels_as_scipy(vectors, seed: int) -> None:
    baseline, current = vectors
    k = default_k(len(baseline))
    expected, expected_labels = kmeans2(baseline, k, minit="++", rng=seed)
    centroids, labels = kmeans_plus_plus(baseline, k, seed)
    np.testing.assert_allclose(centroids, expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(labels, expected_labels)
    np.testing.assert_array_equal(nearest(current, centroids), vq(current, expected)[0])


def test_an_emptied_cluster_keeps_its_centroid_as_in_scipy() -> None:
    # Two tight groups and k = 3: one k-means++ seed ends up without members.
    data = np.array([[0.0, 0.0]] * 5 + [[10.0, 10.0]] * 5 + [[0.0, 0.1]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        expected, expected_labels = kmeans2(data, 3, minit="++", rng=4)
    centroids, labels = kmeans_plus_plus(data, 3, 4)
    np.testing.assert_allclose(centroids, expected, atol=1e-12)
    np.testing.assert_array_equal(labels, expected_labels)
