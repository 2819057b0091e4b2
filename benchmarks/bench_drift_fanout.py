"""The scheduled drift check with 1 and with 20 models on the local stack: one model's check takes
the same time either way; only the dispatcher's own work (one Query, one async Invoke per model)
grows with the count, and it is small.

    python -m benchmarks.bench_drift_fanout [--models 1 20] [--n 60] [--disk-cache]

Each model gets a baseline window and a current window of real GSM8K interactions (its own slice
of ``../shared/data/gsm8k/test.jsonl``) through the API. The schedule is fired twice per count:
the first check after a freeze embeds and stores the baseline's vectors, the second (steady
state) embeds only the current window. Embeddings are computed for real (MiniLM, no disk cache
unless ``--disk-cache``), as in a Lambda container. Locally the checks run one after another in
the dispatcher's invocation; in AWS they run side by side, so the schedule's wall time there is
about the dispatcher's own time plus the slowest check. Prints a table and a final JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from driftgate.local import LocalDeployment, local_stack
from driftgate.paths import embedding_model
from driftgate.testing.realdata import gsm8k_records, ingest
from functions.common.contract import Settings
from functions.drift import default_embedder

GSM8K_ROWS = 1319
CONTEXT = {"driftgate:monitored_models": [], "driftgate:min_training_records": 100000}


def model_records(index: int, n: int, day: str, part: int) -> list[dict]:
    model = f"bench-{index:02d}"
    start = (index * 2 * n + part * n) % (GSM8K_ROWS - n)
    return [{**r, "request_id": f"{model}:{r['request_id']}"}
            for r in gsm8k_records(n, start=start, model=model, day=day)]


def add_models(stack: LocalDeployment, first: int, last: int, n: int) -> None:
    for index in range(first, last):
        assert ingest(stack, model_records(index, n, "2026-11-20", 0)) == n
        assert stack.api("POST", f"/v1/models/bench-{index:02d}/baseline").status == 200
        assert ingest(stack, model_records(index, n, "2026-11-21", 1)) == n


@contextmanager
def timed_invocations(stack: LocalDeployment) -> Iterator[list[tuple[str, float]]]:
    """Wall time of each handler run (logical id, seconds); the check runs inside the dispatcher's."""
    times: list[tuple[str, float]] = []
    original = stack.dispatcher.call

    def call(function: Any, event: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(function, event)
        finally:
            times.append((function.logical_id, time.perf_counter() - started))

    stack.dispatcher.call = call  # type: ignore[method-assign]
    try:
        yield times
    finally:
        stack.dispatcher.call = original  # type: ignore[method-assign]


def fire(stack: LocalDeployment, expected: int) -> dict[str, float]:
    dispatch_id, check_id = stack.function("DriftDispatch").logical_id, stack.function("DriftCheck").logical_id
    with timed_invocations(stack) as times:
        started = time.perf_counter()
        (result,) = stack.fire_schedule()
        wall = time.perf_counter() - started
    assert len(result["dispatched"]) == expected and len(result["checks"]) == expected, result["dispatched"]
    assert all(c["status"] in ("healthy", "breach-started", "breach-suppressed") for c in result["checks"])
    checks = [s for lid, s in times if lid == check_id]
    (dispatch_total,) = [s for lid, s in times if lid == dispatch_id]
    return {"models": expected, "check_median_s": statistics.median(checks), "check_max_s": max(checks),
            "dispatch_own_s": dispatch_total - sum(checks), "local_schedule_wall_s": wall,
            "aws_schedule_estimate_s": dispatch_total - sum(checks) + max(checks)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, nargs="+", default=[1, 20], help="model counts, ascending")
    parser.add_argument("--n", type=int, default=50, help="interactions per window (>= min_window_samples 50)")
    parser.add_argument("--disk-cache", action="store_true", help="keep the local mode's embedding disk cache")
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    # The model's load (a cold start) is not a check's time; the local mode's checks use this folder.
    default_embedder(model_dir=embedding_model()).embed(["warm-up"])
    with local_stack(context=CONTEXT) as stack:
        if not args.disk_cache:  # embed for real, as a Lambda container does
            stack.dispatcher.local_environment[Settings.embedding_cache_dir.name] = ""
        have = 0
        for count in sorted(args.models):
            add_models(stack, have, count, args.n)
            have = count
            for run in ("first", "steady"):
                rows.append({"run": run, **fire(stack, count)})
    print(f"{'models':>6} {'run':>6} {'check median':>13} {'check max':>10} {'dispatcher own':>15} "
          f"{'local wall':>11} {'AWS est.':>9}")
    for r in rows:
        print(f"{r['models']:>6} {r['run']:>6} {r['check_median_s']:>12.3f}s {r['check_max_s']:>9.3f}s "
              f"{r['dispatch_own_s']:>14.3f}s {r['local_schedule_wall_s']:>10.2f}s "
              f"{r['aws_schedule_estimate_s']:>8.2f}s")
    steady = {r["models"]: r for r in rows if r["run"] == "steady"}
    low, high = min(steady), max(steady)
    summary = {"n_per_window": args.n, "disk_cache": args.disk_cache,
               "rows": [{k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()} for r in rows],
               "check_median_ratio": round(steady[high]["check_median_s"] / steady[low]["check_median_s"], 3),
               "dispatch_own_ms_per_model": round(1000 * steady[high]["dispatch_own_s"] / high, 2)}
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
