"""Local SageMaker jobs: forked from the preloaded interpreter against a new interpreter per job.

    .venv/bin/python -m benchmarks.bench_job_process [--pairs 3]   # last line is JSON

The same retrain run (the local profile's quick training on the tiny base: 120 AlpacaEval and
150 GSM8K interactions, then POST /retrain) on a new local stack each time, alternating
``DRIFTGATE_LOCAL_JOBS=fresh`` and ``preloaded`` so that a busy machine slows both alike. Each
job's wall clock is taken around the seam's ``complete`` (as ``cost_meter`` does: channels in,
the process, the model archive out). The fork server starts inside the first preloaded job:
that job is reported on its own, the medians are over the other runs.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Any

from driftgate import job_process
from driftgate.local import local_stack
from driftgate.local.profile import local_training_context
from driftgate.paths import data_dir, tiny_base_cache
from driftgate.testing.realdata import alpaca_records, gsm8k_records, ingest

MODEL = "support-bot"


def one_run(base: Any, mode: str) -> dict[str, Any]:
    os.environ[job_process.MODE_VARIABLE] = mode
    context = local_training_context(base, quick=True, **{"driftgate:rollout": "direct", "driftgate:cooldown_hours": 0,
                                                          "driftgate:monitored_models": [MODEL]})
    jobs: list[tuple[str, float]] = []
    with local_stack(context=context) as stack:
        complete = stack.sagemaker.complete

        def timed(request: dict[str, Any]) -> dict[str, Any]:
            started = time.perf_counter()
            try:
                return complete(request)
            finally:
                program = str(request["HyperParameters"]["sagemaker_program"]).strip('"')
                jobs.append((program, time.perf_counter() - started))

        stack.sagemaker.complete = timed  # type: ignore[method-assign]
        ingest(stack, alpaca_records("gpt4_1106_preview", 120, model=MODEL, day="2026-11-20"))
        ingest(stack, gsm8k_records(150, model=MODEL, day="2026-11-21"))
        started = time.perf_counter()
        response = stack.api("POST", f"/v1/models/{MODEL}/retrain")
        result = stack.wait(response.json()["execution_arn"], timeout_s=1800)
        seconds = time.perf_counter() - started
    if result.status != "SUCCEEDED":
        raise SystemExit(f"the {mode} run ended {result.status}: {result.error} {result.cause}")
    return {"mode": mode, "run_seconds": seconds, "jobs": jobs}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3, help="fresh/preloaded pairs after the warm-up")
    args = parser.parse_args(argv)
    from finetune.base_model import baseline_records, build_tiny_base

    base = build_tiny_base(tiny_base_cache(), baseline_records(data_dir()))
    first = one_run(base, "preloaded")  # starts the fork server
    runs = []
    for pair in range(args.pairs):
        for mode in (("fresh", "preloaded") if pair % 2 == 0 else ("preloaded", "fresh")):
            runs.append(one_run(base, mode))
    summary: dict[str, Any] = {"benchmark": "job_process", "pairs": args.pairs,
                               "first_preloaded_run_seconds": round(first["run_seconds"], 1),
                               "first_preloaded_jobs": [(p, round(s, 1)) for p, s in first["jobs"]]}
    print(f"{'':28s} {'fresh':>8s} {'preloaded':>10s} {'ratio':>7s}")
    programs = sorted({program for run in runs for program, _ in run["jobs"]})
    for name in ["run", *programs]:
        medians = {}
        for mode in ("fresh", "preloaded"):
            values = [run["run_seconds"] if name == "run" else sum(s for p, s in run["jobs"] if p == name)
                      for run in runs if run["mode"] == mode]
            medians[mode] = statistics.median(values)
        ratio = medians["preloaded"] / medians["fresh"]
        label = "whole retrain run" if name == "run" else name
        print(f"{label:28s} {medians['fresh']:7.1f}s {medians['preloaded']:9.1f}s {ratio:6.2f}x")
        summary[label] = {**{k: round(v, 2) for k, v in medians.items()}, "preloaded_over_fresh": round(ratio, 3)}
    print(f"first preloaded run (the fork server's start inside its first job): {first['run_seconds']:.1f}s")
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
