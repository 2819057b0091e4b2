"""Drift check: calibration, power and speed on real AlpacaEval data, next to two peers.

    .venv/bin/python benchmarks/bench_drift.py            # prints tables, last line is JSON

Ours: ``functions.drift.compare_windows`` (MMD on MiniLM embeddings + length/quality/flag
descriptors, min-P combined), and its MMD column alone. Peers, on the very same embeddings and
windows: Alibi Detect's ``MMDDrift`` (pytorch backend) and Evidently's default embedding drift
method (what ``EmbeddingsDriftMetric`` runs without ``drift_method``: a classifier's ROC AUC,
bootstrapped below 1000 reference rows). The peers pin numpy<2 and Alibi Detect is under the
Business Source License, so they live in their own virtualenv (``.bench-venv``, see
``benchmarks/requirements-peers.txt``): this script embeds in the main venv, writes the
embeddings and the windows (row indices) to ``<state_dir>/bench_drift/``, and runs itself under
``.bench-venv`` with ``--peer`` to score them (that mode imports only numpy and the peer).

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
FAR_BOUNDS = (0.02, 0.08)
MIXTRAL = "Mixtral-8x7B-Instruct-v0.1"
# Sources: one text per AlpacaEval instruction (index-aligned), embedded once each.
SOURCES = {
    "prompts": ("gpt4_1106_preview", "prompt"),
    "concise": (f"{MIXTRAL}_concise", "output"),
    "verbose": (f"{MIXTRAL}_verbose", "output"),
    "gpt4": ("gpt4_1106_preview", "output"),
    "alpaca": ("alpaca-7b", "output"),
}
OLD_SETS, NEW_SETS = {"helpful_base", "oasst"}, {"koala", "vicuna", "selfinstruct"}
SCENARIOS = {
    # name: (baseline source, current source); prompt-sets draws from disjoint prompt_set pools.
    "concise-vs-verbose outputs": ("concise", "verbose"),
    "prompt sets (helpful_base+oasst vs koala+vicuna+selfinstruct)": ("prompts", "prompts"),
    "model swap outputs (gpt4_1106_preview vs alpaca-7b)": ("gpt4", "alpaca"),
}
PEERS = ("alibi", "evidently")


# --------------------------------------------------------------------------- windows (tasks)


def make_tasks(
    prompt_sets: list[str], sizes: list[int], splits: int, reps: int, peer_splits: int, peer_reps: int
) -> list[dict]:
    """Every window pair of the benchmark: row indices into the sources, fixed seeds.

    False alarms: two disjoint random halves of one source (cycling over all five sources).
    Power: disjoint prompts on the two sides, so no pairing helps any method.
    The peers (much slower) score the first ``peer_splits`` / ``peer_reps`` of each group.
    """
    n_rows = len(prompt_sets)
    old = np.array([i for i, s in enumerate(prompt_sets) if s in OLD_SETS])
    new = np.array([i for i, s in enumerate(prompt_sets) if s in NEW_SETS])
    tasks = []
    for n in sizes:
        for rep in range(splits):
            source = list(SOURCES)[rep % len(SOURCES)]
            rows = np.random.default_rng([0, n, rep]).choice(n_rows, size=2 * n, replace=False)
            tasks.append(dict(kind="far", scenario="same distribution", n=n, rep=rep, seed=rep, peer=rep < peer_splits,
                              base=[source, rows[:n].tolist()], cur=[source, rows[n:].tolist()]))
        for s_id, (scenario, (base_src, cur_src)) in enumerate(SCENARIOS.items()):
            for rep in range(reps):
                rng = np.random.default_rng([1 + s_id, n, rep])
                if base_src == cur_src == "prompts":
                    base_rows, cur_rows = rng.choice(old, n, replace=False), rng.choice(new, n, replace=False)
                else:
                    rows = rng.choice(n_rows, size=2 * n, replace=False)
                    base_rows, cur_rows = rows[:n], rows[n:]
                tasks.append(dict(kind="power", scenario=scenario, n=n, rep=rep, seed=rep, peer=rep < peer_reps,
                                  base=[base_src, base_rows.tolist()], cur=[cur_src, cur_rows.tolist()]))
    for i, task in enumerate(tasks):
        task["id"] = i
    return tasks


def timing_pairs(pool_size: int, sizes: list[int]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Row indices into the pooled embeddings (all sources) for the speed comparison."""
    order = np.random.default_rng(7).permutation(pool_size)
    return {n: (order[:n], order[n : 2 * n]) for n in sizes if 2 * n <= pool_size}


# --------------------------------------------------------------------------- peers (.bench-venv)


def run_peer(method: str, work: Path, permutations: int, threads: int, timing: bool) -> None:
    """Score every task with one peer (``peer_<method>.json``), or time it (``..._timing.json``)."""
    import torch

    torch.set_num_threads(threads)
    import pandas as pd

    emb = {name: np.load(work / f"emb_{name}.npy") for name in SOURCES}

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
        pool = np.load(work / "emb_pool.npy")
        pairs = json.loads((work / "timing.json").read_text())
        out = {n: best_of(partial(detect, pool[x], pool[y], 0), repeats=3 if int(n) <= 1000 else 1)
               for n, (x, y) in pairs.items()}
    else:
        started = time.perf_counter()
        results = {}
        for task in json.loads((work / "tasks.json").read_text()):
            if not task["peer"]:
                continue
            (bs, brows), (cs, crows) = task["base"], task["cur"]
            results[task["id"]] = detect(emb[bs][brows], emb[cs][crows], task["seed"])
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
    """Records, embeddings (disk-cached MiniLM; by default the drift check's ONNX embedder) and
    descriptors of every source."""
    from driftgate.paths import data_dir, embedding_cache, embedding_model
    from functions.drift import default_embedder
    from functions.drift.descriptors import record_descriptors

    embedder = embedder or default_embedder(embedding_cache(), model_dir=embedding_model())
    sources = {}
    for name, (file, field) in SOURCES.items():
        with (data_dir() / "alpaca_eval" / f"{file}.jsonl").open(encoding="utf-8") as handle:
            records = [json.loads(line) for line in handle]
        texts = [r[field] for r in records]
        started = time.perf_counter()
        embeddings = embedder.embed(texts)
        print(f"  {name:8s} {len(texts)} {field}s embedded/loaded in {time.perf_counter() - started:.1f}s", flush=True)
        sources[name] = dict(records=records, texts=texts, emb=embeddings, desc=record_descriptors(records, field))
    return sources


def window(source: dict, rows: list[int]):
    from functions.drift import Window

    return Window(embeddings=source["emb"][rows], texts=[source["texts"][i] for i in rows],
                  descriptors={k: v[rows] for k, v in source["desc"].items()})


def run_ours(tasks: list[dict], sources: dict, permutations: int) -> dict[int, tuple[bool, bool]]:
    """(combined decision, MMD-alone decision) per task."""
    from functions.drift import compare_windows

    results = {}
    for task in tasks:
        (bs, brows), (cs, crows) = task["base"], task["cur"]
        field = "prompt" if bs == "prompts" else "output"
        report = compare_windows(window(sources[bs], brows), window(sources[cs], crows), field,
                                 alpha=ALPHA, n_permutations=permutations, seed=task["seed"])
        results[task["id"]] = (report.drift, report.p_values["mmd"] <= ALPHA)
    return results


def time_ours(pool_emb: np.ndarray, pool_texts: list[str], pairs, permutations: int) -> dict[int, dict[str, float]]:
    """Best-of wall clock of the full check (from precomputed windows) and of the MMD test alone."""
    from functions.drift import Window, compare_windows, mmd_test
    from functions.drift.descriptors import text_descriptors

    desc = text_descriptors(pool_texts)

    def full(xr: np.ndarray, yr: np.ndarray) -> None:
        base = Window(pool_emb[xr], [pool_texts[i] for i in xr], {k: v[xr] for k, v in desc.items()})
        cur = Window(pool_emb[yr], [pool_texts[i] for i in yr], {k: v[yr] for k, v in desc.items()})
        compare_windows(base, cur, "output", n_permutations=permutations)

    out = {}
    for n, (xr, yr) in pairs.items():
        repeats = 3 if n <= 1000 else 1
        out[n] = {
            "full": best_of(partial(full, xr, yr), repeats),
            "mmd": best_of(partial(mmd_test, pool_emb[xr], pool_emb[yr], n_permutations=permutations), repeats),
        }
    return out


# --------------------------------------------------------------------------- report


def rate(decisions: list[bool]) -> float:
    return float(np.mean(decisions)) if decisions else float("nan")


def summarise(tasks, ours, peers) -> list[dict]:
    rows = []
    groups: dict[tuple, list[dict]] = {}
    for task in tasks:
        groups.setdefault((task["kind"], task["scenario"], task["n"]), []).append(task)
    far_all = [t for t in tasks if t["kind"] == "far"]
    groups[("far", "same distribution", "all")] = far_all
    for (kind, scenario, n), members in groups.items():
        peer_members = [t for t in members if t["peer"]]
        row = dict(kind=kind, scenario=scenario, n=n, runs=len(members), peer_runs=len(peer_members),
                   ours=rate([ours[t["id"]][0] for t in members]),
                   ours_mmd_only=rate([ours[t["id"]][1] for t in members]))
        for peer in PEERS:
            results = peers.get(peer)
            row[peer] = rate([results[str(t["id"])][0] for t in peer_members]) if results else None
        rows.append(row)
    return rows


def print_tables(rows, timing, threads: int, permutations: int) -> None:
    def fmt(v: float | None) -> str:
        return "   -  " if v is None else f"{v:6.1%}"

    header = f"{'':68s} {'n':>5s} {'runs':>5s}  {'ours':>6s} {'MMD':>6s}  {'runs':>5s} {'alibi':>6s} {'evid.':>6s}"
    print(f"\nRate of drift alarms at alpha {ALPHA} (ours = MMD + descriptors, min-P; MMD = our MMD alone;"
          f" alibi = MMDDrift pytorch; evid. = Evidently default embedding drift), {permutations} permutations")
    print(header)
    for kind, title in (("far", "False alarms (same distribution: should be ~5%)"), ("power", "Detection power")):
        print(title)
        for r in (r for r in rows if r["kind"] == kind):
            print(f"  {r['scenario'][:66]:66s} {str(r['n']):>5s} {r['runs']:5d}  {fmt(r['ours'])} "
                  f"{fmt(r['ours_mmd_only'])}  {r['peer_runs']:5d} {fmt(r['alibi'])} {fmt(r['evidently'])}")
    if timing:
        print(f"\nWall clock per test, {permutations} permutations each, {threads} thread(s)")
        columns = ("ours full", "ours MMD", "alibi", "alibi/full", "alibi/MMD")
        print(f"  {'n per side':>10s} " + " ".join(f"{c:>10s}" for c in columns))
        for n, t in timing.items():
            alibi = t.get("alibi")
            ratios = f"{alibi / t['full']:9.1f}x {alibi / t['mmd']:9.1f}x" if alibi else f"{'-':>10s} {'-':>10s}"
            print(f"  {n:>10d} {t['full']:9.3f}s {t['mmd']:9.3f}s {alibi or float('nan'):9.3f}s {ratios}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 200], help="records per side")
    parser.add_argument("--splits", type=int, default=300, help="same-distribution splits per size")
    parser.add_argument("--reps", type=int, default=100, help="repetitions per scenario and size")
    parser.add_argument("--peer-splits", type=int, default=100, help="of those, scored by the peers too")
    parser.add_argument("--peer-reps", type=int, default=50, help="of those, scored by the peers too")
    parser.add_argument("--permutations", type=int, default=500, help="for every permutation test, ours and Alibi's")
    parser.add_argument("--timing-sizes", type=int, nargs="+", default=[200, 1000, 2000])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--peer-python", default=str(REPO / ".bench-venv" / "bin" / "python"))
    parser.add_argument("--peer", choices=PEERS, help=argparse.SUPPRESS)  # internal: runs under .bench-venv
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--timing", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peer:
        run_peer(args.peer, args.work, args.permutations, args.threads, args.timing)
        return 0

    sys.path.insert(0, str(REPO))
    from threadpoolctl import threadpool_limits

    from driftgate.paths import state_dir

    work = state_dir() / "bench_drift"
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    print("Embedding (cached in state_dir) ...", flush=True)
    sources = load_sources()
    tasks = make_tasks([r["prompt_set"] for r in sources["prompts"]["records"]], args.sizes, args.splits, args.reps,
                       args.peer_splits, args.peer_reps)
    pool_emb = np.concatenate([s["emb"] for s in sources.values()])
    pool_texts = [t for s in sources.values() for t in s["texts"]]
    pairs = timing_pairs(len(pool_emb), args.timing_sizes)
    for name, source in sources.items():
        np.save(work / f"emb_{name}.npy", source["emb"])
    np.save(work / "emb_pool.npy", pool_emb)
    (work / "tasks.json").write_text(json.dumps(tasks))
    (work / "timing.json").write_text(json.dumps({n: [x.tolist(), y.tolist()] for n, (x, y) in pairs.items()}))

    # The peers score the windows in parallel with ours (one process each, `threads` each);
    # the timings run afterwards, one process at a time, so nothing competes with them.
    peer_cmd = [args.peer_python, __file__, "--work", str(work), "--permutations", str(args.permutations),
                "--threads", str(args.threads)]
    if not Path(args.peer_python).exists():
        print(f"(no {args.peer_python}: peers skipped; benchmarks/README.md says how to create .bench-venv)")
    procs = {peer: start_peer(peer_cmd + ["--peer", peer], work, f"peer_{peer}", args.threads)
             for peer in PEERS if Path(args.peer_python).exists()}
    print(f"Running {len(tasks)} window pairs (ours{', peers in parallel' if procs else ''}) ...", flush=True)
    with threadpool_limits(limits=args.threads):
        ours_started = time.perf_counter()
        ours = run_ours(tasks, sources, args.permutations)
        ours_seconds = time.perf_counter() - ours_started
    peer_results = {peer: finish_peer(proc, work, f"peer_{peer}") for peer, proc in procs.items()}
    peers = {p: r["results"] for p, r in peer_results.items() if r}
    peer_seconds = {p: r["seconds"] for p, r in peer_results.items() if r}

    print("Timing ...", flush=True)
    with threadpool_limits(limits=args.threads):
        timing = time_ours(pool_emb, pool_texts, pairs, args.permutations)
    alibi_timing = {}
    if "alibi" in procs:
        proc = start_peer(peer_cmd + ["--peer", "alibi", "--timing"], work, "peer_alibi_timing", args.threads)
        alibi_timing = finish_peer(proc, work, "peer_alibi_timing") or {}
    for n, t in timing.items():
        t["alibi"] = alibi_timing.get(str(n))

    rows = summarise(tasks, ours, peers)
    print_tables(rows, timing, args.threads, args.permutations)
    far = next(r for r in rows if r["kind"] == "far" and r["n"] == "all")
    far_ok = FAR_BOUNDS[0] <= far["ours"] <= FAR_BOUNDS[1]
    seconds = time.perf_counter() - started
    print(f"\nfalse-alarm rate over {far['runs']} splits: {far['ours']:.3f} "
          f"({'within' if far_ok else 'OUTSIDE'} {FAR_BOUNDS}); ours {ours_seconds:.0f}s for all pairs, "
          + ", ".join(f"{p} {s:.0f}s" for p, s in peer_seconds.items()) + f"; total {seconds:.0f}s")
    summary = {
        "benchmark": "drift",
        "alpha": ALPHA,
        "permutations": args.permutations,
        "threads": args.threads,
        "false_alarm_rate": far["ours"],
        "false_alarm_splits": far["runs"],
        "false_alarm_within_bounds": far_ok,
        "rates": rows,
        "timing_seconds": {str(n): t for n, t in timing.items()},
        "timing_ratio_alibi_over_ours": {
            str(n): (t["alibi"] / t["full"] if t["alibi"] else None) for n, t in timing.items()
        },
        "seconds": {
            "total": seconds, "ours_all_pairs": ours_seconds, **{f"{p}_all_pairs": s for p, s in peer_seconds.items()}
        },
    }
    print(json.dumps(summary))
    return 0 if far_ok else 1


if __name__ == "__main__":
    sys.exit(main())
