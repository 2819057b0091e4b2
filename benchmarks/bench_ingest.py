"""Scoring throughput of the scorer pack alone against the same records through the ingest
handler (API Gateway events → real handler → moto S3/DynamoDB), side by side in one run.

    python benchmarks/bench_ingest.py [--every N]

Prints records per CPU-second (one core) for each side, their ratio, and a final JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import time
import uuid

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from benchmarks.bench_scoring import run_pack
from driftgate.local import local_stack
from driftgate.testing.realdata import load_alpaca_eval

BATCH = 100


def run_handler(records: list[dict], stack) -> float:
    """Records per CPU-second through the API handler, in batches of 100 (the API's limit)."""
    batches = [[{"request_id": f"{r['id']}:{uuid.uuid4().hex[:6]}", "model": "bench", "prompt": r["prompt"],
                 "output": r["output"], "reference": r["reference"]} for r in records[i:i + BATCH]]
               for i in range(0, len(records), BATCH)]
    start = time.process_time()
    for batch in batches:
        response = stack.api("POST", "/v1/interactions", {"interactions": batch})
        assert response.status == 200 and response.json()["accepted"] == len(batch), response.body[:300]
    return len(records) / (time.process_time() - start)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=4, help="keep every N-th instruction (default 4)")
    args = parser.parse_args(argv)
    records = [r for r in load_alpaca_eval(["Mixtral-8x7B-Instruct-v0.1", "alpaca-7b"])
               if int(r["id"].rsplit(":", 1)[1]) % args.every == 0]
    with local_stack() as stack:
        stack.api("GET", "/v1/health")  # warm: imports and cold start are not part of the rate
        pack = run_pack(records)
        handler = run_handler(records, stack)
    result = {"records": len(records), "pack_records_per_s_per_core": round(pack, 1),
              "handler_records_per_s_per_core": round(handler, 1), "handler_over_pack": round(handler / pack, 3)}
    print(f"{len(records)} real records with references: pack {pack:.1f}/s/core, "
          f"through the handler {handler:.1f}/s/core (ratio {handler / pack:.3f})")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
