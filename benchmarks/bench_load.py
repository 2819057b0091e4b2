"""Load over loopback HTTP: ``driftgate serve``'s server on a local stack, several concurrent
clients sending real interactions with deliberate duplicates, then an audit of what was stored.

    python -m benchmarks.bench_load [--unique 1200] [--clients 8] [--seed 7] [--request-timeout 900]

moto's TransactWriteItems deep-copied the whole table once per action, so a run grew with the
square of ``--unique`` (p50 of a batch 15-28 s with 8 clients); the local mode now rolls back only
the items a transaction names (``driftgate.local.atomicity``), and a batch's p50 is about 1.7 s.

The load and the audit are ``driftgate.testing.load`` and ``driftgate.testing.audit`` (shared with
``tests/reliability/test_load.py``): request ids shared by two batches that two clients send at the
same moment, a request id twice in one batch, whole batches re-sent after their response (a client
retry), and batches sent on a socket closed before the response is read, then re-sent.

Prints throughput (stored interactions/s, requests/s) and request latency p50/p95/p99 over HTTP,
and the same request bodies, in the same order, through the in-process API entry point
(``stack.api``: API Gateway event → moto Lambda Invoke → the same handler, no HTTP) on a fresh
stack in the same run, with their ratio; the scoring pack alone on the stored records is a third
column. Exits 1 unless the audit's counts are exact. The local dispatcher runs one handler at a
time (``_INVOKE_LOCK``): concurrency is at the HTTP layer only, so this measures the server's
overhead and correctness under concurrent clients, not parallel ingest.
"""
from __future__ import annotations

import argparse
import json
import math
import os
from typing import Any

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from benchmarks.bench_scoring import run_pack
from driftgate.local import local_stack
from driftgate.testing.audit import problems, read_stored
from driftgate.testing.load import (
    LoadResult,
    Plan,
    handled_order,
    make_plan,
    run_in_process,
    serve_and_load,
)


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {f"p{round(q * 100)}_ms": round(ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000, 1)
            for q in (0.5, 0.95, 0.99)}  # nearest rank


def figures(plan: Plan, result: LoadResult) -> dict[str, Any]:
    unique, requests = len(plan.unique_ids), len(result.attempts)
    return {"requests": requests, "wall_s": round(result.wall_s, 2), "cpu_s": round(result.cpu_s, 2),
            "stored_per_s": round(unique / result.wall_s, 1), "requests_per_s": round(requests / result.wall_s, 2),
            "stored_per_cpu_s": round(unique / result.cpu_s, 1),
            **percentiles([a.latency_s for a in result.attempts if a.latency_s is not None])}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unique", type=int, default=1200, help="distinct real interactions (default 1200)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--time-limit", type=float, default=3600, help="seconds the HTTP clients may run")
    # Handlers queue behind one lock: a short timeout would retry requests still waiting their turn.
    parser.add_argument("--request-timeout", type=float, default=900, help="seconds per HTTP request")
    args = parser.parse_args(argv)
    plan = make_plan(args.unique, clients=args.clients, sizes=(10, 60), retried=0.1,
                     shared_per_pair=3, repeats=10, seed=args.seed)
    print(f"{args.unique} distinct real interactions in {len(plan.jobs)} batches, {plan.requests} requests, "
          f"{plan.sent} records sent ({plan.duplicates} duplicates: {len(plan.shared)} shared across clients, "
          f"{len(plan.repeated)} twice in a batch, {sum(j.action == 'resend' for j in plan.jobs)} batches re-sent, "
          f"{sum(j.action == 'drop' for j in plan.jobs)} dropped and re-sent); {args.clients} HTTP clients. "
          "Handlers run one at a time (the local dispatcher's lock): concurrency is at the HTTP layer.", flush=True)
    from driftgate.local.template import synthesize

    template = synthesize()
    records = [r for j in plan.jobs for r in j.records]
    # First, so the handlers below find the scorers warm (imports, compiled patterns).
    pack = run_pack(list({r["request_id"]: r for r in records}.values()))  # each distinct record once
    results: dict[str, LoadResult] = {}
    failed: list[str] = []
    with local_stack(template) as stack:
        stack.api("GET", "/v1/health")  # warm: the handler's cold start is not part of the rate
        results["http"] = serve_and_load(stack, plan, args.clients, args.time_limit, args.request_timeout)
        order = handled_order(stack, plan)
        failed += [f"http: {p}" for p in problems(plan, results["http"], read_stored(stack))]
    with local_stack(template) as stack:
        stack.api("GET", "/v1/health")
        results["in-process"] = run_in_process(stack, order)
        failed += [f"in-process: {p}" for p in problems(plan, results["in-process"], read_stored(stack))]
    http_fig, peer_fig = figures(plan, results["http"]), figures(plan, results["in-process"])
    summary = {
        "unique": args.unique, "sent": plan.sent, "duplicates": plan.duplicates, "requests": plan.requests,
        "clients": args.clients, "exact": not failed, "http": http_fig, "in_process": peer_fig,
        "pack_records_per_cpu_s": round(pack, 1),
        # Same stored count on both sides: the throughput ratio is the inverse ratio of the times.
        "http_over_in_process_wall": round(results["in-process"].wall_s / results["http"].wall_s, 3),
        "http_over_in_process_cpu": round(results["in-process"].cpu_s / results["http"].cpu_s, 3),
        "http_unplanned_retries": len(results["http"].unplanned),
    }
    for name, fig in (("HTTP, concurrent", http_fig), ("in-process stack.api", peer_fig)):
        print(f"{name:>22}: {fig['stored_per_s']:7.1f} stored/s, {fig['requests_per_s']:6.2f} requests/s, "
              f"latency p50 {fig['p50_ms']} ms, p95 {fig['p95_ms']} ms, p99 {fig['p99_ms']} ms "
              f"({fig['requests']} requests, {fig['wall_s']} s wall, {fig['cpu_s']} s CPU)")
    print(f"HTTP / in-process throughput: {summary['http_over_in_process_wall']} (wall), "
          f"{summary['http_over_in_process_cpu']} (CPU); scoring pack alone {pack:.1f} records/CPU-s")
    for attempt in results["http"].unplanned:
        print(f"unplanned: batch {attempt.job.batch} {attempt.kind}: {attempt.error or attempt.status}")
    print("counts exact on both sides" if not failed else "COUNTS NOT EXACT:\n  " + "\n  ".join(failed))
    print(json.dumps(summary))
    if failed:
        raise SystemExit(1)
    return summary


if __name__ == "__main__":
    main()
