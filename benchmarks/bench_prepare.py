"""PrepareDataset's read of raw interactions: the old path (every object of the model's history,
one GET at a time, all records held in memory, then the erasure and feedback lookups) against the
new one (only the date partitions of the dataset window, 16 GETs at a time, streamed to disk in
chunks), side by side in one run on the same local stack.

    python -m benchmarks.bench_prepare [--days 60] [--window 30]

The data: every real record of ../shared/data (5 AlpacaEval files and GSM8K: 5,344 records, about
10x what ``make demo`` stores), ingested through the API with timestamps spread over ``--days``
days. Prints objects and records read, wall time, and peak traced memory of each path, their
ratios, then the PrepareDataset function end to end, and a final JSON line. moto answers a GET
in-process in well under a millisecond, so the local wall-time ratio understates the parallel
reads: on S3 each GET costs tens of milliseconds of latency, which 16 readers overlap.
"""
from __future__ import annotations

import argparse
import json
import os
import time
import tracemalloc
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from driftgate.local import local_stack
from driftgate.testing.realdata import alpaca_records, gsm8k_records, ingest
from functions.dataset.stored import window_days, write_source
from functions.pipeline.artifacts import artifact_store

MODEL = "bench-prepare"
GENERATORS = ("gpt4_1106_preview", "Mixtral-8x7B-Instruct-v0.1", "Mixtral-8x7B-Instruct-v0.1_concise",
              "Mixtral-8x7B-Instruct-v0.1_verbose", "alpaca-7b")


def all_real_records(days: int) -> list[dict[str, Any]]:
    rows = gsm8k_records(1319, model=MODEL)
    for generator in GENERATORS:
        rows += [{**r, "request_id": f"{generator}:{r['request_id']}"}
                 for r in alpaca_records(generator, 805, model=MODEL)]
    start = time.mktime(time.strptime("2026-10-01", "%Y-%m-%d"))
    return [{**row, "timestamp": time.strftime("%Y-%m-%dT12:00:00Z", time.gmtime(start + 86400 * (i % days)))}
            for i, row in enumerate(rows)]


def old_read(store: Any, path: Path) -> int:
    """The read as PrepareDataset did it before: the whole history, one GET at a time, every record
    in memory, then the erasure and feedback lookups over all of them at once."""
    from functions.dataset.stored import training_record
    from functions.interactions.store import interaction_store

    records = list(store.raw_records(MODEL, None, readers=1))
    interactions = interaction_store()
    erased = {rid for rid, stored in interactions.lookup([r["request_id"] for r in records]).items()
              if stored.erased}
    records = [r for r in records if r["request_id"] not in erased]
    feedback = interactions.feedback_of([r["request_id"] for r in records])
    path.write_text("".join(json.dumps(training_record(r, feedback.get(r["request_id"]))) + "\n" for r in records))
    return len(records)


def measure(read: Any) -> dict[str, float]:
    """Wall time of one run, then the peak traced memory of another (tracing slows Python down)."""
    started = time.perf_counter()
    records = read()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    read()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"records": records, "seconds": round(seconds, 3), "peak_mib": round(peak / 2**20, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--window", type=int, default=30)
    args = parser.parse_args()
    records = all_real_records(args.days)
    context = {"driftgate:min_training_records": 2, "driftgate:dataset_window_days": args.window,
               "driftgate:raw_text_retention_days": max(args.window, 45)}  # texts outlive the window
    with local_stack(context=context) as stack:
        stored = ingest(stack, records)
        with stack.environment("PrepareDataset"), TemporaryDirectory() as tmp:
            store = artifact_store()
            all_days = store.raw_days(MODEL)
            window = window_days(all_days, args.window)
            objects = {scope: sum(1 for d in days for _ in store.s3.list_objects_v2(
                Bucket=store.raw_bucket, Prefix=f"raw/model={MODEL}/date={d}/").get("Contents", []))
                for scope, days in (("old", all_days), ("new", window))}
            old = measure(lambda: old_read(store, Path(tmp) / "old.jsonl"))
            serial = measure(lambda: write_source(store.raw_records(MODEL, window, readers=1), Path(tmp) / "one.jsonl"))
            new = measure(lambda: write_source(store.raw_records(MODEL, window), Path(tmp) / "source.jsonl"))
        started = time.perf_counter()
        result = stack.invoke("PrepareDataset", {"model": MODEL, "run_id": "bench"})
        end_to_end = time.perf_counter() - started
    old["objects"], serial["objects"], new["objects"] = objects["old"], objects["new"], objects["new"]
    print(f"{stored} real records over {args.days} days ({len(all_days)} partitions); window {args.window} days")
    for name, side in (("old: all history, 1 reader, in memory", old), ("window, 1 reader, streamed", serial),
                       ("new: window, 16 readers, streamed", new)):
        print(f"  {name:40s} {side['objects']:5d} objects {side['records']:6d} records "
              f"{side['seconds']:7.2f} s  peak {side['peak_mib']:6.1f} MiB")
    ratios = {"objects": round(old["objects"] / max(new["objects"], 1), 2),
              "seconds": round(old["seconds"] / max(new["seconds"], 1e-9), 2),
              "peak_memory": round(old["peak_mib"] / max(new["peak_mib"], 0.1), 2)}
    print(f"old / new: {ratios['objects']}x objects, {ratios['seconds']}x wall time, "
          f"{ratios['peak_memory']}x peak memory")
    print(f"PrepareDataset end to end: {end_to_end:.1f} s, {result.get('available_records')} records, "
          f"enough={result.get('enough')}")
    print(json.dumps({"stored": stored, "days": args.days, "window": args.window, "old": old,
                      "window_one_reader": serial, "new": new,
                      "old_over_new": ratios, "prepare_dataset_s": round(end_to_end, 2),
                      "available_records": result.get("available_records")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
