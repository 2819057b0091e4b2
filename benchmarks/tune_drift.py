"""How the drift family's weights were chosen: every member's p-value on every labelling of the
tuning windows, cached once, then any weighting of the views evaluated in seconds.

    .venv/bin/python -m benchmarks.tune_drift                # cache (a few minutes on 2 cores), then the table
    .venv/bin/python -m benchmarks.tune_drift --weights '{"mmd-rbf": 0.5, "local-excess": 40, ...}'
    .venv/bin/python -m benchmarks.tune_drift --grid    # every weighting of GRID: the smallest shortfalls
    .venv/bin/python -m benchmarks.tune_drift --grid --scale gaussian   # the same on another scale of p

The tuning windows are bench_drift's scenarios drawn from other seeds (``[9000, ...]``) plus a
strong-to-weak swap (gpt4_1106_preview vs alpaca-7b at n = 30 and 50), so the benchmark's
figures are measured on windows the weights never saw. For each row the table gives the family's
alarm rate under the weights and the best member alone (its own permutation p-value at alpha):
the bar of issue #18. The family's decision is scored as the detector makes it: each member on
``detector.member_log_pvalues``'s scale (ranks; Kolmogorov's tail for KS). Candidate members
(``candidates``) are cached beside the family's, weighed by their ranks, and can be given a weight
by name: the local excess at other bandwidths, and on a lexical view (hashed word and word-pair
TF-IDF vectors), which issue #18's third round tried and did not adopt (docs/drift.md).
"""
from __future__ import annotations

import argparse
import json
import pickle
import re
import sys
import zlib
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
ALPHA = 0.05
WEAK = "strong-to-weak: gpt4_1106_preview vs alpaca-7b, disjoint prompts"


def tuning_tasks(reps: int) -> list[dict]:
    from benchmarks import drift_tasks as dt

    tasks = []
    for n in (30, 50, 100, 200):
        for rep in range(reps):
            rows = np.random.default_rng([9000, 0, n, rep]).choice(dt.N_ALPACA, 2 * n, replace=False)
            source = dt.FAR_SOURCES[rep % len(dt.FAR_SOURCES)]
            tasks.append(dict(kind="far", scenario="same distribution", n=n, base=[[source, rows[:n]]],
                              cur=[[source, rows[n:]]]))
    for rep in range(reps):
        base, cur = dt._shared_null(100, np.random.default_rng([9000, 50, 100, rep]))
        tasks.append(dict(kind="far", scenario=dt.SHARED_NULL, n=100, base=base, cur=cur))
    for s_id, (scenario, ns) in enumerate(dt.POWER.items()):
        for n in ns:
            for rep in range(reps):
                base, cur = dt._power_sides(scenario, n, np.random.default_rng([9000, 100 + s_id, n, rep]))
                tasks.append(dict(kind="power", scenario=scenario, n=n, base=base, cur=cur))
    for n in (30, 50):
        for rep in range(reps):
            rows = np.random.default_rng([9000, 200, n, rep]).choice(dt.N_ALPACA, 2 * n, replace=False)
            tasks.append(dict(kind="power", scenario=WEAK, n=n, base=[["gpt4", rows[:n]]], cur=[["alpaca", rows[n:]]]))
    for rep, task in enumerate(tasks):
        task["seed"] = 9000 + rep
    return tasks


# --grid: every combination of these weights of the family's views (--lexical: and of the lexical
# candidate), ranked by the worst power row's shortfall below its best member alone, then the total.
GRID = {"mmd-rbf": (0.25, 0.5, 1, 2), "local-excess": (3, 10, 20, 30, 50, 100), "hotelling": (0.25, 0.5, 1, 2),
        "descriptors": (0.5, 1, 3, 5, 10, 20)}
LEXICAL_GRID = {"lexical@0.6": (0, 1, 2)}
_WORD = re.compile(r"[^\W_]+")


def lexical_features(texts: list[str], dimensions: int = 4096) -> np.ndarray:
    """Unit TF-IDF vectors of each text's words and adjacent word pairs (digits folded into one
    token), hashed by CRC-32 into ``dimensions`` buckets; IDF over the pooled texts (label-free)."""
    counts = np.zeros((len(texts), dimensions))
    for row, text in enumerate(texts):
        words = ["<num>" if w.isdigit() else w for w in (w.lower() for w in _WORD.findall(text))]
        tokens = words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
        buckets = np.array([zlib.crc32(t.encode()) % dimensions for t in tokens], dtype=np.int64)
        counts[row] = np.bincount(buckets, minlength=dimensions)
    tf = np.log1p(counts) * (np.log((1.0 + len(texts)) / (1.0 + (counts > 0).sum(axis=0))) + 1.0)
    norms = np.linalg.norm(tf, axis=1, keepdims=True)
    return np.divide(tf, norms, out=np.zeros_like(tf), where=norms > 0)


def candidates(embeddings: np.ndarray, texts: list[str], masks: np.ndarray) -> dict[str, np.ndarray]:
    """Members tried beside the family's, each a statistic per labelling."""
    from functions.drift.local import local_excess_for_masks
    from functions.drift.mmd import median_heuristic, rbf_kernel, squared_distances

    out = {}
    for view, d2 in (("local", squared_distances(embeddings)), ("lexical", squared_distances(lexical_features(texts)))):
        bandwidth = median_heuristic(d2)
        for factor in (0.25, 0.35, 0.6) if view == "lexical" else (0.18, 0.35):
            out[f"{view}@{factor}"] = local_excess_for_masks(rbf_kernel(d2, factor * bandwidth), masks)
    return out


_SOURCES: dict = {}


def _cache_one(task: dict) -> dict:
    from benchmarks.drift_tasks import field_of
    from functions.drift import detector
    from functions.drift.descriptors import align_descriptors
    from functions.drift.permutation import upper_tail_pvalues

    if not _SOURCES:
        from benchmarks.bench_drift import load_sources

        _SOURCES.update(load_sources())
    from benchmarks.bench_drift import window

    base, cur = window(_SOURCES, task["base"]), window(_SOURCES, task["cur"])
    masks, _ = detector._masks(base, cur, field_of(task), 500, task["seed"])
    desc_b, desc_c = align_descriptors(base.descriptors, cur.descriptors)
    pooled = np.concatenate([base.embeddings, cur.embeddings])
    names, kinds, stats, _ = detector._members(pooled, {k: np.concatenate([desc_b[k], desc_c[k]]) for k in desc_b},
                                               masks)
    extra = candidates(pooled, base.texts + cur.texts, masks)
    every = np.stack(stats + list(extra.values()))
    ranks = upper_tail_pvalues(every)
    kinds = kinds + ["candidate"] * len(extra)  # a candidate is weighed by its rank
    return dict(kind=task["kind"], scenario=task["scenario"], n=task["n"], n_x=len(base), n_y=len(cur),
                names=names + list(extra), kinds=kinds, pvalues=ranks.astype(np.float32),
                stats=every.astype(np.float32))


def build_cache(path: Path, reps: int, workers: int) -> list[dict]:
    from multiprocessing import Pool

    with Pool(workers) as pool:
        cached = pool.map(_cache_one, tuning_tasks(reps), chunksize=4)
    path.write_bytes(pickle.dumps(cached))
    return cached


def combined_alarm(entry: dict, weights: dict[str, float]) -> bool:
    """The family's decision under ``weights`` (by kind, "descriptors" shared; a candidate by name)."""
    from functions.drift.permutation import harmonic_pvalue
    from functions.drift.report import DESCRIPTOR_KINDS

    n_desc = sum(kind in DESCRIPTOR_KINDS for kind in entry["kinds"])
    w = np.array([weights.get("descriptors", 0.0) / n_desc if kind in DESCRIPTOR_KINDS
                  else weights.get(name if kind == "candidate" else kind, 0.0)
                  for name, kind in zip(entry["names"], entry["kinds"], strict=True)])
    return harmonic_pvalue(entry["log_pvalues"], w) <= ALPHA


def table(cached: list[dict], weights: dict[str, float]) -> list[dict]:
    rows: dict[tuple, list[dict]] = defaultdict(list)
    for entry in cached:
        rows[(entry["kind"], entry["scenario"], entry["n"])].append(entry)
    out = []
    for (kind, scenario, n), entries in rows.items():
        alone: dict[str, int] = defaultdict(int)
        for e in entries:
            for name, kind_, p in zip(e["names"], e["kinds"], e["pvalues"][:, 0], strict=True):
                if kind_ != "candidate" or weights.get(name):
                    alone[name] += bool(p <= ALPHA)
        best = max(alone, key=alone.__getitem__)
        family = float(np.mean([combined_alarm(e, weights) for e in entries]))
        out.append(dict(kind=kind, scenario=scenario, n=n, family=family, best_member=best,
                        best_member_rate=alone[best] / len(entries)))
    return out


def shortfall(rows: list[dict]) -> float:
    """The largest gap, over the power rows, between the best member alone and the family."""
    return max(r["best_member_rate"] - r["family"] for r in rows if r["kind"] == "power")


def total_shortfall(rows: list[dict]) -> float:
    return sum(max(0.0, r["best_member_rate"] - r["family"]) for r in rows if r["kind"] == "power")


def grid(cached: list[dict], space: dict[str, tuple], top: int = 10) -> list[tuple[float, float, dict[str, float]]]:
    import itertools

    ranked = []
    for values in itertools.product(*space.values()):
        weights = {k: float(v) for k, v in zip(space, values, strict=True) if v}
        rows = table(cached, weights)
        ranked.append((shortfall(rows), total_shortfall(rows), weights))
    ranked.sort(key=lambda item: (round(item[0], 6), round(item[1], 6)))
    return ranked[:top]


def _log_ranks(stats: np.ndarray) -> np.ndarray:
    from functions.drift.permutation import upper_tail_pvalues

    return np.log(upper_tail_pvalues(stats))


def _gaussian(stats: np.ndarray) -> np.ndarray:
    from scipy.special import log_ndtr

    spread = stats.std(axis=1, keepdims=True)
    z = np.divide(stats - stats.mean(axis=1, keepdims=True), spread, out=np.zeros_like(stats), where=spread > 0)
    return log_ndtr(-z)


def _yeo_johnson(stats: np.ndarray) -> np.ndarray:
    from scipy.stats import yeojohnson

    out = np.zeros_like(stats)
    for row, values in enumerate(stats):
        if values.std() > 0:
            out[row] = yeojohnson((values - values.mean()) / values.std())[0]
    return _gaussian(out)


def _exp_tail(stats: np.ndarray) -> np.ndarray:
    from functions.drift.exceedance import tail_log_pvalues

    return tail_log_pvalues(stats, _log_ranks(stats))


def _kolmogorov(entry: dict) -> np.ndarray:
    """The fourth round's scale: ranks; Kolmogorov's tail alone for KS."""
    from functions.drift.kolmogorov import ks_log_pvalues

    log_p = np.log(entry["pvalues"].astype(np.float64))
    for row, kind in enumerate(entry["kinds"]):
        if kind == "ks":
            log_p[row] = ks_log_pvalues(entry["stats"][row].astype(np.float64), entry["n_x"], entry["n_y"])
    return log_p


def _family(entry: dict) -> np.ndarray:
    from functions.drift.detector import member_log_pvalues

    return member_log_pvalues(entry["kinds"], entry["stats"].astype(np.float64), entry["pvalues"].astype(np.float64),
                              entry["n_x"], entry["n_y"])


# --scale: how each member's p-value enters the sum. "family" is the detector's own
# (detector.member_log_pvalues: ranks; for KS the smaller of Kolmogorov's and the exponential
# tail), "kolmogorov" the fourth round's (Kolmogorov's alone for KS); the others apply to every
# member, candidates included: what issue #18's fourth round compared (docs/drift.md).
SCALES = {
    "rank": _log_ranks,
    "gaussian": _gaussian,
    "yeo-johnson": _yeo_johnson,
    "exp-tail": _exp_tail,
}
ENTRY_SCALES = {"family": _family, "kolmogorov": _kolmogorov}


def rescale(cached: list[dict], scale: str) -> list[dict]:
    """Each entry with ``log_pvalues`` on ``scale``, from the cached statistics (so a change of
    the detector's scale needs no rebuild)."""
    if scale in ENTRY_SCALES:
        return [dict(entry, log_pvalues=ENTRY_SCALES[scale](entry)) for entry in cached]
    return [dict(entry, log_pvalues=SCALES[scale](entry["stats"].astype(np.float64))) for entry in cached]


def main(argv: list[str] | None = None) -> int:
    from functions.drift.detector import VIEW_WEIGHTS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=json.loads, default=VIEW_WEIGHTS, help="JSON: weight per view kind")
    parser.add_argument("--grid", action="store_true", help="rank every weighting of GRID by its worst shortfall")
    parser.add_argument("--lexical", action="store_true", help="--grid: weigh the lexical candidate too")
    parser.add_argument("--scale", choices=[*ENTRY_SCALES, *SCALES], default="family",
                        help="each member's p-value in the sum (default: the detector's)")
    parser.add_argument("--reps", type=int, default=100, help="windows per row")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rebuild", action="store_true", help="recompute the cache (after changing a member)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from driftgate.paths import state_dir

    path = state_dir() / f"tune_drift_{args.reps}.pkl"
    cached = pickle.loads(path.read_bytes()) if path.exists() and not args.rebuild else []
    expected = [(t["scenario"], t["n"]) for t in tuning_tasks(args.reps)]
    if [(e["scenario"], e["n"]) for e in cached] != expected or "n_x" not in cached[0]:  # none yet, or other rows
        cached = build_cache(path, args.reps, args.workers)
    cached = rescale(cached, args.scale)
    if args.grid:
        space = {**GRID, **(LEXICAL_GRID if args.lexical else {})}
        ranked = grid(cached, space)
        count = int(np.prod([len(v) for v in space.values()]))
        print(f"{count} weightings, scale {args.scale}; the smallest worst (and total) shortfalls below the best "
              "member:")
        for gap, total, weights in ranked:
            print(f"  {gap:+.2f} ({total:.2f})  {json.dumps(weights)}")
        print(json.dumps({"benchmark": "tune_drift", "scale": args.scale,
                          "grid": [dict(shortfall=g, total=t, weights=w) for g, t, w in ranked]}))
        return 0
    rows = table(cached, args.weights)
    print(f"weights {json.dumps(args.weights)}, scale {args.scale}; {args.reps} tuning windows a row, "
          f"alarms at alpha {ALPHA}")
    for r in rows:
        short = "  <- below the best member" if r["kind"] == "power" and r["family"] < r["best_member_rate"] else ""
        print(f"  {r['scenario'][:60]:60s} n={r['n']:<4d} family {r['family']:.2f}   best member alone "
              f"{r['best_member']} {r['best_member_rate']:.2f}{short}")
    print(json.dumps({"benchmark": "tune_drift", "weights": args.weights, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
