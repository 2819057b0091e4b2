"""The drift check: one calibrated decision over embedding and descriptor tests, explained.

Family of tests, all on the same ``n_permutations`` relabellings of the pooled windows:
MMD² on the embeddings at the median-heuristic bandwidth (a broad move), the local excess at a
narrow one (``local``: a cluster of texts only one window has), a ridge Hotelling T² (Fisher's
linear discriminant) on embeddings and descriptors together, KS on each continuous descriptor
(lengths, markdown structure, sentence length, lexical diversity, digits, quality), the rate gap
on each flag. The decision is one permutation test of the members' weighted harmonic mean
(``permutation.harmonic_pvalue``, weights ``VIEW_WEIGHTS``), so it stays exact at ``alpha``. A
member's p-value in that mean is its permutation rank, except for KS, whose tail (Kolmogorov's,
or on tied data an exponential fitted to its permutations) keeps counting beyond the 1/(B+1) a
rank stops at (``member_log_pvalues``).
Every member's ``p_adjusted`` is family-wise (min-P over the ranks), and ``moved`` names the
members that are significant on their own after that correction.

When the windows share prompts (an output field, at least ``MIN_SAMPLES`` prompts by hash in
both), the relabellings swap the two answers of each shared prompt instead of drawing freely
(``permutation.paired_masks``): every member then compares answers given their prompt.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence, Sized
from typing import Any

import numpy as np

from functions.drift import exceedance, kolmogorov, local
from functions.drift.clusters import centroid_distance, cluster_shifts
from functions.drift.descriptors import (
    Descriptors,
    align_descriptors,
    descriptor_stats,
    record_descriptors,
    summary,
)
from functions.drift.discriminant import discriminant_features, hotelling_for_masks
from functions.drift.divergence import effect_sizes
from functions.drift.embedder import Embedder
from functions.drift.mmd import median_heuristic, mmd2_for_masks, rbf_kernel, squared_distances
from functions.drift.pairing import match_pairs, prompt_key
from functions.drift.permutation import (
    evidence_shares,
    harmonic_pvalue,
    minp_adjust,
    paired_masks,
    permutation_masks,
    upper_tail_pvalues,
)
from functions.drift.report import DESCRIPTOR_KINDS, DriftReport, Field, TestKind, TestResult

METHOD = "mmd+local+hotelling+descriptors-perm-hmp"
MIN_SAMPLES = 10  # per window (and shared prompts for the paired test): below this nothing says anything
# Each view's weight in the harmonic combination; the descriptors share theirs equally, however
# many a field has (a prompt window has ten that a new topic leaves alone, an output window up to
# twenty), so adding a descriptor never dilutes the embedding members. The local excess carries
# most of it: it alone sees a small new topic, while a style shift moves several descriptors by
# far more than their KS tails need to outweigh it. Chosen on tuning windows (seeds [9000, ...],
# 100 per row, benchmarks/tune_drift.py, docs/drift.md): 10% GSM8K at n = 100 0.80 (the local
# excess alone 0.85), 30% selfinstruct prompts 0.94 (the line count alone 1.00; 0.66 before KS
# kept a tail on tied data), style at n = 30 0.98, two strong models 1.00.
VIEW_WEIGHTS: dict[str, float] = {"mmd-rbf": 0.5, "local-excess": 30.0, "hotelling": 1.0, "descriptors": 10.0}
# (the "descriptors" weight is shared by every member of a kind in report.DESCRIPTOR_KINDS)


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
    prompt_keys: list[str] | None = None  # pairing.prompt_key of each record's prompt, where known

    def __post_init__(self) -> None:
        keys = [] if self.prompt_keys is None else [len(self.prompt_keys)]
        sizes = {len(self.embeddings), len(self.texts), *keys, *(len(v) for v in self.descriptors.values())}
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
    prompts = [record.get("prompt") for record in records]
    keyed = all(isinstance(p, str) for p in prompts)  # else no pairing: a prompt of one record is unknown
    return Window(
        embeddings=embedder.embed(texts),
        texts=texts,
        descriptors=record_descriptors(records, field, with_scores=with_scores),
        prompt_keys=[prompt_key(str(p)) for p in prompts] if keyed else None,
    )


def _masks(baseline: Window, current: Window, field: Field, n_permutations: int, seed: int) -> tuple[np.ndarray, int]:
    """The labellings every member is calibrated on, and how many prompt pairs they keep."""
    n_b, n_c = len(baseline), len(current)
    if field == "output" and baseline.prompt_keys is not None and current.prompt_keys is not None:
        pairs = match_pairs(baseline.prompt_keys, current.prompt_keys)
        if len(pairs) >= MIN_SAMPLES:
            pooled_pairs = pairs + np.array([0, n_b])  # current rows follow the baseline's in the pool
            return paired_masks(n_b, n_c, pooled_pairs, n_permutations, seed), len(pairs)
    return permutation_masks(n_b, n_c, n_permutations, seed), 0


def _members(
    pooled: np.ndarray, descriptors: Descriptors, masks: np.ndarray
) -> tuple[list[str], list[TestKind], list[np.ndarray], float]:
    """Every member's statistic per labelling (row 0 observed), and the median bandwidth."""
    d2 = squared_distances(pooled)
    bandwidth = median_heuristic(d2)
    names = ["mmd", "local"]
    kinds: list[TestKind] = ["mmd-rbf", "local-excess"]
    stats = [
        mmd2_for_masks(rbf_kernel(d2, bandwidth), masks),
        local.local_excess_for_masks(rbf_kernel(d2, local.BANDWIDTH_FACTOR * bandwidth), masks),
    ]
    varying = {k: v for k, v in descriptors.items() if not np.all(v == v[0])}  # constant: nothing can move
    names.append("discriminant")
    kinds.append("hotelling")
    stats.append(hotelling_for_masks(discriminant_features(pooled, varying), masks))
    for name, values in varying.items():
        kind, per_mask = descriptor_stats(values, masks)
        names.append(name)
        kinds.append(kind)
        stats.append(per_mask)
    return names, kinds, stats, bandwidth


def view_weights(kinds: Sequence[TestKind]) -> np.ndarray:
    """Each member's weight in the combination: its view's, the descriptors' split among them."""
    n_descriptors = sum(kind in DESCRIPTOR_KINDS for kind in kinds)
    share = VIEW_WEIGHTS["descriptors"] / max(n_descriptors, 1)
    return np.array([share if kind in DESCRIPTOR_KINDS else VIEW_WEIGHTS[kind] for kind in kinds])


def member_log_pvalues(
    kinds: Sequence[TestKind], stats: np.ndarray, ranks: np.ndarray, n_x: int, n_y: int
) -> np.ndarray:
    """Each member's log p-value for every labelling (``stats``: members x labellings; ``ranks``:
    their ``upper_tail_pvalues``), the scale the combination weighs: the permutation rank, or for
    KS the smaller of Kolmogorov's tail and the exponential tail of its own permutations
    (``exceedance``: Kolmogorov's is too large where a descriptor has few distinct values)."""
    log_p = np.log(ranks)
    ks = [row for row, kind in enumerate(kinds) if kind == "ks"]
    if ks:
        fitted = exceedance.tail_log_pvalues(stats[ks], log_p[ks])
        log_p[ks] = np.minimum(fitted, kolmogorov.ks_log_pvalues(stats[ks], n_x, n_y))
    return log_p


@dataclasses.dataclass(frozen=True)
class FamilyTest:
    """The decision and its members, without the explanation (clusters) that a report adds."""

    p_value: float  # the combined test's
    tests: list[TestResult]
    statistic: float  # MMD² at the median-heuristic bandwidth
    bandwidth: float
    paired: int


def family_test(
    baseline: Window, current: Window, field: Field, *, alpha: float = 0.05, n_permutations: int = 500, seed: int = 0
) -> FamilyTest:
    """Every member on the same labellings; the combined p-value and the members' own."""
    _check_sizes(baseline, current)
    masks, n_pairs = _masks(baseline, current, field, n_permutations, seed)
    desc_b, desc_c = align_descriptors(baseline.descriptors, current.descriptors)
    pooled_desc = {name: np.concatenate([desc_b[name], desc_c[name]]) for name in desc_b}
    names, kinds, stats, bandwidth = _members(
        np.concatenate([baseline.embeddings, current.embeddings]), pooled_desc, masks
    )
    family = np.stack(stats)
    ranks = upper_tail_pvalues(family)
    raw, adjusted = minp_adjust(ranks)
    weights = view_weights(kinds)
    log_p = member_log_pvalues(kinds, family, ranks, len(baseline), len(current))
    shares = evidence_shares(log_p, weights)
    tests = [
        TestResult(
            name=name,
            test=kind,
            statistic=float(stat[0]),
            p_value=float(p),
            p_adjusted=float(p_adj),
            baseline=summary(desc_b[name]) if name in desc_b else None,
            current=summary(desc_c[name]) if name in desc_c else None,
            moved=bool(p_adj <= alpha),
            evidence_share=float(share),
        )
        for name, kind, stat, p, p_adj, share in zip(names, kinds, stats, raw, adjusted, shares, strict=True)
    ]
    return FamilyTest(
        p_value=harmonic_pvalue(log_p, weights),
        tests=tests,
        statistic=float(stats[names.index("mmd")][0]),
        bandwidth=bandwidth,
        paired=n_pairs,
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
    family = family_test(baseline, current, field, alpha=alpha, n_permutations=n_permutations, seed=seed)
    return DriftReport(
        field=field,
        drift=family.p_value <= alpha,
        p_value=family.p_value,
        statistic=family.statistic,
        method=METHOD,
        alpha=alpha,
        n_baseline=len(baseline),
        n_current=len(current),
        n_permutations=n_permutations,
        seed=seed,
        paired=family.paired,
        bandwidth=family.bandwidth,
        centroid_distance=centroid_distance(baseline.embeddings, current.embeddings),
        tests=family.tests,
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
