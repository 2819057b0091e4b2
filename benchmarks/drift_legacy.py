"""Today's drift check before issue #18 (commit bbb866a), rebuilt from the library's own parts, so
bench_drift measures it beside the new family in the same run and on the same windows.

Family then: MMD² at the median-heuristic bandwidth on the embeddings, KS on chars/words/lines
and quality, the rate gap on each flag, free permutations, min-P; the report added the same
centroid distance and k-means clusters, and (since 54a586f, before #18) the divergences: timed
here too, so the cost ratio compares whole checks.
"""
from __future__ import annotations

import numpy as np

from functions.drift.clusters import centroid_distance, cluster_shifts
from functions.drift.descriptors import FLAG_PREFIX, align_descriptors, descriptor_stats
from functions.drift.detector import Window
from functions.drift.divergence import effect_sizes
from functions.drift.mmd import median_heuristic, mmd2_for_masks, rbf_kernel, squared_distances
from functions.drift.permutation import minp_adjust, permutation_masks, upper_tail_pvalues

DESCRIPTORS = ("chars", "words", "lines", "quality")


def todays_window(window: Window) -> Window:
    """The window as today's check saw it: the descriptors it computed, no prompt keys."""
    keep = {k: v for k, v in window.descriptors.items() if k in DESCRIPTORS or k.startswith(FLAG_PREFIX)}
    return Window(window.embeddings, window.texts, keep)


def legacy_pvalue(baseline: Window, current: Window, n_permutations: int, seed: int, explain: bool = False) -> float:
    """The combined (min-P) p-value bbb866a's ``compare_windows`` reported for these windows."""
    baseline, current = todays_window(baseline), todays_window(current)
    masks = permutation_masks(len(baseline), len(current), n_permutations, seed)
    d2 = squared_distances(np.concatenate([baseline.embeddings, current.embeddings]))
    stats = [mmd2_for_masks(rbf_kernel(d2, median_heuristic(d2)), masks)]
    desc_b, desc_c = align_descriptors(baseline.descriptors, current.descriptors)
    for name in desc_b:
        values = np.concatenate([desc_b[name], desc_c[name]])
        if not np.all(values == values[0]):
            stats.append(descriptor_stats(values, masks)[1])
    _, adjusted = minp_adjust(upper_tail_pvalues(np.stack(stats)))
    if explain:
        centroid_distance(baseline.embeddings, current.embeddings)
        cluster_shifts(baseline.embeddings, current.embeddings, baseline.texts, current.texts, k=None, seed=seed)
        effect_sizes(baseline, current, k=None, seed=seed)
    return float(adjusted.min())
