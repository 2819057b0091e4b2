"""Drift check: calibration, power and cost on the real data, beside today's check and two peers.

    .venv/bin/python -m benchmarks.bench_drift            # prints tables, last line is JSON

Ours: ``functions.drift.family_test`` (the decision ``compare_windows`` reports: MMD, the local excess, the
linear discriminant and the descriptors on shared labellings, harmonic-mean combined; paired
labellings where the windows share prompts), beside today's check before issue #18
(``drift_legacy``: MMD + lengths/quality/flags, min-P), each member of the new family alone (the
best one per row), and our MMD at the median bandwidth alone. Windows: ``drift_tasks``.
Peers, on the very same embeddings and windows: Alibi Detect's ``MMDDrift`` (pytorch backend)
and Evidently's default embedding drift method (what ``EmbeddingsDriftMetric`` runs without
``drift_method``: a classifier's ROC AUC, bootstrapped below 1000 reference rows). The peers
pin numpy<2 and Alibi Detect is under the Business Source License, so they live in their own
virtualenv (``.bench-venv``, see ``benchmarks/requirements-peers.txt``): this script embeds in
the main venv (the drift check's ONNX MiniLM), writes the embeddings and the windows (row
indices) to ``<state_dir>/bench_drift/``, and runs itself under ``.bench-venv`` with ``--peer``
to score them (that mode imports only numpy and the peer).

Everything runs at the same thread count (default 1: this machine is shared, and multi-threaded
torch there is dominated by waiting), so the wall-clock ratios compare the algorithms.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
ALPHA = 0.05
PEERS = ("alibi", "evidently")



def timing_pairs(pool_size: int, sizes: list[int]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Row indices into the pooled embeddings (all sources) for the speed comparison."""
    order = np.random.default_rng(7).permutation(pool_size)
    return {n: (order[:n], order[n : 2 * n]) for n in sizes if 2 * n <= pool_size}


# --------------------------------------------------------------------------- peers (.bench-venv)


def run_peer(method: str, work: Path, permutations: int, threads: int, timing: bool, limit: int) -> None:
    """Score the tasks marked for the peers (the first ``limit`` of each group) with one peer
    (``peer_<method>.json``), or time it (``..._timing.json``)."""
    import torch

    torch.set_num_threads(threads)
    import pandas as pd

    emb = {path.stem[4:]: np.load(path) for path in work.glob("emb_*.npy")}

    if method == "alibi":
        from alibi_detect.cd import MMDDrift

        def detect(x_ref: np.ndarray, x: np.ndarray, seed: int) -> tuple[bool, float]:
            torch.manual_seed(seed)
            detector = MMDDrift(x_ref, backend="pytorch", p_val=ALPHA, n_permutations=permutations)
            data = detector.predict(x)["data"]
            return bool(data["is_drift"]), float(data["p_val"])
    else:
        from evidently.legacy.metrics.data_drift.embedding_drift_methods import model

        def detect(x_ref: np.ndarray, x: np.ndarray, seed: int) -> tuple[bool, float]:
            # EmbeddingsDriftMetric's default: model(bootstrap=reference rows < 1000).
            score, drift, _ = model(bootstrap=len(x_ref) < 1000)(pd.DataFrame(x), pd.DataFrame(x_ref))
            return bool(drift), float(score)

    if timing:  # alone, after everything else: wall clock of one test per size
        pool = emb["pool"]
        pairs = json.loads((work / "timing.json").read_text())
        out = {n: best_of(partial(detect, pool[x], pool[y], 0), repeats=3 if int(n) <= 1000 else 1)
               for n, (x, y) in pairs.items()}
    else:
        started = time.perf_counter()
        results = {}
        for task in json.loads((work / "tasks.json").read_text()):
            if task["peer"] and task["rep"] < limit:
                base, cur = (np.concatenate([emb[src][rows] for src, rows in task[side]]) for side in ("base", "cur"))
                results[task["id"]] = detect(base, cur, task["seed"])
        out = {"results": results, "seconds": time.perf_counter() - started}
    (work / f"peer_{method}{'_timing' if timing else ''}.json").write_text(json.dumps(out))


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def start_peer(command: list[str], work: Path, name: str, threads: int) -> subprocess.Popen:
    """Run this script under the peers' venv; it writes ``<name>.json`` (and ``<name>.log``)."""
    (work / f"{name}.json").unlink(missing_ok=True)  # never read a previous run's result
    env = dict(os.environ, **{k: str(threads) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    with (work / f"{name}.log").open("w") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)


def finish_peer(proc: subprocess.Popen, work: Path, name: str) -> dict | None:
    """The peer's JSON result, or None (its log tail goes to stderr) when it failed."""
    result = work / f"{name}.json"
    if proc.wait() == 0 and result.exists():
        return json.loads(result.read_text())
    print(f"{name} failed (exit {proc.returncode}):\n{(work / f'{name}.log').read_text()[-2000:]}", file=sys.stderr)
    return None


# --------------------------------------------------------------------------- ours (main venv)


def load_sources(embedder=None):
    """Records, embeddings (disk-cached MiniLM; by default the drift check's ONNX embedder),
    descriptors and prompt keys of every source."""
    from benchmarks.drift_tasks import SOURCES
    from driftgate.paths import data_dir, embedding_cache, embedding_model
    from functions.drift import default_embedder
    from functions.drift.descriptors import record_descriptors
    from functions.drift.pairing import prompt_key

    embedder = embedder or default_embedder(embedding_cache(), model_dir=embedding_model())
    sources = {}
    for name, (folder, file, field) in SOURCES.items():
        with (data_dir() / folder / f"{file}.jsonl").open(encoding="utf-8") as handle:
            records = [json.loads(line) for line in handle]
        texts = [r[field] for r in records]
        started = time.perf_counter()
        embeddings = embedder.embed(texts)
        print(f"  {name:8s} {len(texts)} {field}s embedded/loaded in {time.perf_counter() - started:.1f}s", flush=True)
        sources[name] = dict(records=records, texts=texts, emb=embeddings, desc=record_descriptors(records, field),
                             keys=[prompt_key(r["prompt"]) for r in records])
    return sources


def window(sources: dict, side: list):
    """One side of a task (segments of rows of sources) as the check's ``Window``: the descriptors
    every segment has, and every flag any segment raised (False where it did not)."""
    from functions.drift import Window
    from functions.drift.descriptors import FLAG_PREFIX

    parts = [(sources[source], np.asarray(rows, dtype=np.int64)) for source, rows in side]
    names = set.intersection(*(set(p["desc"]) for p, _ in parts))
    names |= {k for p, _ in parts for k in p["desc"] if k.startswith(FLAG_PREFIX)}
    return Window(
        embeddings=np.concatenate([p["emb"][r] for p, r in parts]),
        texts=[p["texts"][i] for p, r in parts for i in r],
        descriptors={k: np.concatenate([p["desc"][k][r] if k in p["desc"] else np.zeros(len(r), dtype=bool)
                                        for p, r in parts]) for k in sorted(names)},
        prompt_keys=[p["keys"][i] for p, r in parts for i in r],
    )


def decide(tasks: list[dict], sources: dict, permutations: int) -> dict[int, dict]:
    """Per task: the new decision, today's, our MMD alone, and each member alone (raw p <= alpha)."""
    from benchmarks.drift_legacy import legacy_pvalue
    from benchmarks.drift_tasks import field_of
    from functions.drift.detector import family_test

    results = {}
    for task in tasks:
        base, cur = window(sources, task["base"]), window(sources, task["cur"])
        family = family_test(base, cur, field_of(task), alpha=ALPHA, n_permutations=permutations, seed=task["seed"])
        results[task["id"]] = dict(
            ours=family.p_value <= ALPHA, paired=family.paired,
            today=legacy_pvalue(base, cur, permutations, task["seed"]) <= ALPHA,
            members={t.name: t.p_value <= ALPHA for t in family.tests},
            named=[t.name for t in family.tests if t.moved])  # what the report names (family-wise)
    return results


def run_ours(tasks: list[dict], sources: dict, permutations: int) -> dict[int, tuple[bool, bool]]:
    """(new decision, MMD-alone decision) per task: what bench_embeddings compares across embedders."""
    return {i: (r["ours"], r["members"]["mmd"]) for i, r in decide(tasks, sources, permutations).items()}


def time_ours(sources: dict, pool: list, pairs, permutations: int) -> dict[int, dict[str, float]]:
    """Best-of wall clock of the whole new check (``compare_windows``: the decision, clusters and
    effect sizes, from precomputed windows) and of today's (``drift_legacy``, with its clusters),
    interleaved so both see the same load."""
    from benchmarks.drift_legacy import legacy_pvalue
    from functions.drift import compare_windows

    out = {}
    for n, (xr, yr) in pairs.items():
        base, cur = (window(sources, [[source, [row]] for source, row in (pool[i] for i in rows)]) for rows in (xr, yr))
        repeats = 5 if n <= 200 else 1
        new, today = [], []
        for _ in range(repeats):
            new.append(best_of(partial(compare_windows, base, cur, "output", n_permutations=permutations), 1))
            today.append(best_of(partial(legacy_pvalue, base, cur, permutations, 0, explain=True), 1))
        out[n] = {"full": min(new), "today": min(today)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[30, 50, 100, 200], help="false alarms: per side")
    parser.add_argument("--splits", type=int, default=200, help="same-distribution splits per size (and paired null)")
    parser.add_argument("--reps", type=int, default=100, help="repetitions per power scenario and size")
    parser.add_argument("--peer-splits", type=int, default=50, help="of those, scored by the peers too")
    parser.add_argument("--peer-reps", type=int, default=50, help="of those, scored by the peers too")
    parser.add_argument("--evidently-runs", type=int, default=25,
                        help="of the peers' runs per group, Evidently scores the first (about 2.5 s each here)")
    parser.add_argument("--permutations", type=int, default=500, help="for every permutation test, ours and Alibi's")
    parser.add_argument("--our-permutations", type=int, help="ours on the window pairs (default: --permutations;"
                        " the timing always uses --permutations)")
    parser.add_argument("--our-splits", type=int, help="ours decides only the first N splits per size")
    parser.add_argument("--our-reps", type=int, help="ours decides only the first N repetitions per scenario")
    parser.add_argument("--reuse-peers", action="store_true",
                        help="read the peers' results and Alibi's timing of an earlier start (peer_*.json in the"
                        " work folder)")
    parser.add_argument("--timing-sizes", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--peer-python", default=str(REPO / ".bench-venv" / "bin" / "python"))
    parser.add_argument("--peer", choices=PEERS, help=argparse.SUPPRESS)  # internal: runs under .bench-venv
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--timing", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peer:
        run_peer(args.peer, args.work, args.permutations, args.threads, args.timing, args.evidently_runs)
        return 0

    sys.path.insert(0, str(REPO))
    from threadpoolctl import threadpool_limits

    from benchmarks.drift_tasks import FAR_SOURCES, make_tasks
    from driftgate.paths import state_dir

    work = state_dir() / "bench_drift"
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    print("Embedding (cached in state_dir) ...", flush=True)
    sources = load_sources()
    tasks = make_tasks([], args.sizes, args.splits, args.reps, args.peer_splits, args.peer_reps)
    # The timing windows draw answers from every output source, as a live window mixes them.
    pool = [(name, row) for name in FAR_SOURCES if name != "prompts" for row in range(len(sources[name]["texts"]))]
    pairs = timing_pairs(len(pool), args.timing_sizes)
    for name, source in sources.items():
        np.save(work / f"emb_{name}.npy", source["emb"])
    np.save(work / "emb_pool.npy", np.stack([sources[name]["emb"][row] for name, row in pool]))
    if not args.reuse_peers:  # a reused peer run read this file already: same seeds give the same tasks
        (work / "tasks.json").write_text(json.dumps(tasks))
    elif json.loads((work / "tasks.json").read_text()) != json.loads(json.dumps(tasks)):
        raise SystemExit("--reuse-peers: the peers scored other tasks (other --sizes/--splits/--reps)")
    limit = {"far": args.our_splits or args.splits, "power": args.our_reps or args.reps}
    decided = [t for t in tasks if t["rep"] < limit[t["kind"]]]
    (work / "timing.json").write_text(json.dumps({n: [x.tolist(), y.tolist()] for n, (x, y) in pairs.items()}))

    # The peers score the windows in parallel with ours (one process each, `threads` each);
    # the timings run afterwards, one process at a time, so nothing competes with them.
    peer_cmd = [args.peer_python, __file__, "--work", str(work), "--permutations", str(args.permutations),
                "--threads", str(args.threads)]
    if not Path(args.peer_python).exists():
        print(f"(no {args.peer_python}: peers skipped; benchmarks/README.md says how to create .bench-venv)")
    limits = {"alibi": max(args.peer_splits, args.peer_reps), "evidently": args.evidently_runs}
    procs = {peer: start_peer(peer_cmd + ["--peer", peer, "--evidently-runs", str(limits[peer])], work,
                              f"peer_{peer}", args.threads)
             for peer in PEERS if Path(args.peer_python).exists() and not args.reuse_peers}
    print(f"Running {len(decided)} window pairs (ours{', peers in parallel' if procs else ''}) ...", flush=True)
    with threadpool_limits(limits=args.threads):
        ours_started = time.perf_counter()
        ours = decide(decided, sources, args.our_permutations or args.permutations)
        ours_seconds = time.perf_counter() - ours_started
    peer_results = {peer: finish_peer(proc, work, f"peer_{peer}") for peer, proc in procs.items()}
    if args.reuse_peers:  # started by hand beside this run: wait for them (an hour at most)
        deadline = time.monotonic() + 3600
        while time.monotonic() < deadline and not all((work / f"peer_{p}.json").exists() for p in PEERS):
            time.sleep(10)
        peer_results = {p: json.loads((work / f"peer_{p}.json").read_text()) for p in PEERS
                        if (work / f"peer_{p}.json").exists()}
    peers = {p: r["results"] for p, r in peer_results.items() if r}
    peer_seconds = {p: r["seconds"] for p, r in peer_results.items() if r}

    print("Timing ...", flush=True)
    with threadpool_limits(limits=args.threads):
        timing = time_ours(sources, pool, pairs, args.permutations)
    alibi_timing = {}
    reused_timing = work / "peer_alibi_timing.json"
    if args.reuse_peers and reused_timing.exists():  # Alibi timed these very pairs (seeded) before
        alibi_timing = json.loads(reused_timing.read_text())
    elif "alibi" in procs or "alibi" in peer_results:
        proc = start_peer(peer_cmd + ["--peer", "alibi", "--timing"], work, "peer_alibi_timing", args.threads)
        alibi_timing = finish_peer(proc, work, "peer_alibi_timing") or {}
    for n, t in timing.items():
        t["alibi"] = alibi_timing.get(str(n))

    from benchmarks.drift_report import goals, print_tables, summarise

    rows = summarise(decided, ours, peers)
    print_tables(rows, timing, args.threads, args.permutations, args.our_permutations or args.permutations)
    print("\nWhat the report names on the family's alarms (members moved family-wise; none: the sum decided)")
    for r in rows:
        if r["kind"] == "power":
            named = ", ".join(f"{m} {c}" for m, c in list(r["named_on_alarms"].items())[:5])
            print(f"  {r['scenario'][:64]:64s} {r['n']:>4} {round(r['ours'] * r['runs']):>3} alarms: {named}")
    met = goals(rows, timing)
    print("\nGoals (issue #18):")
    for goal, ok in met.items():
        print(f"  {'met    ' if ok else 'NOT MET'} {goal}")
    far_ok = all(ok for goal, ok in met.items() if goal.startswith("false alarms"))
    seconds = time.perf_counter() - started
    print(f"\nours {ours_seconds:.0f}s for {len(decided)} pairs (new and today's), "
          + ", ".join(f"{p} {s:.0f}s" for p, s in peer_seconds.items()) + f"; total {seconds:.0f}s")
    summary = {
        "benchmark": "drift",
        "alpha": ALPHA,
        "permutations": args.permutations,
        "our_permutations": args.our_permutations or args.permutations,
        "threads": args.threads,
        "false_alarms_within_bounds": far_ok,
        "goals": met,
        "rates": rows,
        "timing_seconds": {str(n): t for n, t in timing.items()},
        "timing_ratio_new_over_today": {str(n): t["full"] / t["today"] for n, t in timing.items()},
        "seconds": {
            "total": seconds, "ours_all_pairs": ours_seconds, **{f"{p}_all_pairs": s for p, s in peer_seconds.items()}
        },
    }
    print(json.dumps(summary))
    return 0 if far_ok else 1


if __name__ == "__main__":
    sys.exit(main())
