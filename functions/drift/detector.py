"""The drift check: one calibrated decision over embedding MMD and descriptor tests, explained.

Family of tests, all on the same ``n_permutations`` relabellings of the pooled windows:
MMD² (RBF kernel, median-heuristic bandwidth) on the embeddings, KS on each continuous
descriptor, the rate gap on each flag. Per-test permutation p-values are combined by min-P
(``permutation.minp_adjust``), so the report's ``p_value`` and every ``p_adjusted`` keep the
family-wise false-alarm rate at ``alpha``.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence, Sized
from typing import Any

import numpy as np

from functions.drift.clusters import centroid_distance, cluster_shifts
from functions.drift.descriptors import (
    Descriptors,
    align_descriptors,
    descriptor_stats,
    record_descriptors,
    summary,
)
from functions.drift.divergence import effect_sizes
from functions.drift.embedder import Embedder
from functions.drift.mmd import (
    median_heuristic,
    mmd2_for_masks,
    rbf_kernel,
    squared_distances,
)
from functions.drift.permutation import minp_adjust, permutation_masks
from functions.drift.report import DriftReport, Field, TestKind, TestResult

METHOD = "mmd-rbf-perm+ks-minp"
MIN_SAMPLES = 10  # per window: below this neither the kernel nor a KS test says anything


class DriftInputError(ValueError):
    """The windows cannot be tested as given (too few records, a record without the field)."""


def _check_sizes(baseline: Sized, current: Sized) -> None:
    for name, window in (("baseline", baseline), ("current", current)):
        if len(window) < MIN_SAMPLES:
            raise DriftInputError(f"the {name} window has {len(window)} records; at least {MIN_SAMPLES} are needed")


@dataclasses.dataclass
class Window:
    """What the test needs from one window: embeddings, descriptors, and texts for examples."""

    embeddings: np.ndarray
    texts: list[str]
    descriptors: Descriptors = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        sizes = {len(self.embeddings), len(self.texts), *(len(v) for v in self.descriptors.values())}
        if len(sizes) != 1:
            raise DriftInputError(f"embeddings, texts and descriptors disagree on the window size: {sorted(sizes)}")

    def __len__(self) -> int:
        return len(self.texts)


def window_from_records(
    records: Sequence[Mapping[str, Any]], field: Field, embedder: Embedder, with_scores: bool = True
) -> Window:
    """Embed ``record[field]`` and compute its descriptors (DriftInputError on bad records)."""
    missing = [i for i, record in enumerate(records) if not isinstance(record.get(field), str)]
    if missing:
        raise DriftInputError(
            f"{len(missing)} of {len(records)} records have no text '{field}' (first: record {missing[0]})"
        )
    texts = [record[field] for record in records]
    return Window(
        embeddings=embedder.embed(texts),
        texts=texts,
        descriptors=record_descriptors(records, field, with_scores=with_scores),
    )


def compare_windows(
    baseline: Window,
    current: Window,
    field: Field,
    *,
    alpha: float = 0.05,
    n_permutations: int = 500,
    seed: int = 0,
    n_clusters: int | None = None,
    embedder_name: str = "",
) -> DriftReport:
    """Drift report of ``current`` against ``baseline`` (precomputed embeddings + descriptors)."""
    _check_sizes(baseline, current)
    n_b, n_c = len(baseline), len(current)
    masks = permutation_masks(n_b, n_c, n_permutations, seed)

    pooled = np.concatenate([baseline.embeddings, current.embeddings])
    d2 = squared_distances(pooled)
    bandwidth = median_heuristic(d2)
    names, stats = ["mmd"], [mmd2_for_masks(rbf_kernel(d2, bandwidth), masks)]
    kinds: list[TestKind] = ["mmd-rbf"]
    desc_b, desc_c = align_descriptors(baseline.descriptors, current.descriptors)
    for name in desc_b:
        values = np.concatenate([desc_b[name], desc_c[name]])
        if np.all(values == values[0]):
            continue  # constant over both windows: nothing can move
        kind, per_mask = descriptor_stats(values, masks)
        names.append(name)
        kinds.append(kind)
        stats.append(per_mask)

    raw, adjusted = minp_adjust(np.stack(stats))
    tests = [
        TestResult(
            name=name,
            test=kind,
            statistic=float(stat[0]),
            p_value=float(p),
            p_adjusted=float(p_adj),
            baseline=None if name == "mmd" else summary(desc_b[name]),
            current=None if name == "mmd" else summary(desc_c[name]),
            moved=bool(p_adj <= alpha),
        )
        for name, kind, stat, p, p_adj in zip(names, kinds, stats, raw, adjusted, strict=True)
    ]
    p_value = float(adjusted.min())
    return DriftReport(
        field=field,
        drift=p_value <= alpha,
        p_value=p_value,
        statistic=float(stats[0][0]),
        method=METHOD,
        alpha=alpha,
        n_baseline=n_b,
        n_current=n_c,
        n_permutations=n_permutations,
        seed=seed,
        bandwidth=bandwidth,
        centroid_distance=centroid_distance(baseline.embeddings, current.embeddings),
        tests=tests,
        clusters=cluster_shifts(
            baseline.embeddings, current.embeddings, baseline.texts, current.texts, k=n_clusters, seed=seed
        ),
        embedder=embedder_name,
        divergences=effect_sizes(baseline, current, k=n_clusters, seed=seed),
    )


def detect_drift(
    baseline: Sequence[Mapping[str, Any]],
    current: Sequence[Mapping[str, Any]],
    field: Field = "output",
    *,
    embedder: Embedder | None = None,
    alpha: float = 0.05,
    n_permutations: int = 500,
    seed: int = 0,
    n_clusters: int | None = None,
    with_scores: bool = True,
) -> DriftReport:
    """Drift of ``field`` between two lists of interaction records (dicts with ``prompt``,
    ``output`` and optionally ``scores``). Call once per field: prompts are data drift,
    outputs are output drift. ``embedder`` defaults to the offline MiniLM (``default_embedder()``)."""
    if embedder is None:
        from functions.drift.embedder import default_embedder

        embedder = default_embedder()
    _check_sizes(baseline, current)  # before embedding anything
    return compare_windows(
        window_from_records(baseline, field, embedder, with_scores),
        window_from_records(current, field, embedder, with_scores),
        field,
        alpha=alpha,
        n_permutations=n_permutations,
        seed=seed,
        n_clusters=n_clusters,
        embedder_name=embedder.name,
    )
