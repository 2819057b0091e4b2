"""Hot keys in ingest: DynamoDB capacity units on the hottest partition, before sharding against
now, on the same real records through the ingest handler, in one run.

    python -m benchmarks.bench_ingest_keys [--warmup 400] [--records 800] [--batch 20] [--before COMMIT]

Every DynamoDB call the ingest handler makes is recorded (botocore's before-parameter-build event on the
handler's own client) with the partition keys it touches and its capacity units, estimated by
DynamoDB's published rules: a write costs 1 WCU per KB of item (2 inside a transaction), a
strongly consistent read 1 RCU per 4 KB, and a write to an indexed item 1 WCU per KB projected on
the index's partition. Three local stacks, all on one model and one window (the worst case):

- ``before``: the code at ``--before`` (the last commit before sharding), checked out in a git
  worktree: every batch updated one aggregate item and rewrote one reservoir item of the window;
- ``1 shard``: today's code with ``driftgate:ingest_shards`` = 1;
- ``sharded``: today's default.

The first ``--warmup`` records are stored unmetered (the reservoir full, as in a busy window).
The ceiling follows from DynamoDB's per-partition limits (1,000 WCU/s and 3,000 RCU/s), tables and
indexes alike: records/s per model = min(1000 / WCU per record, 3000 / RCU per record) on the
hottest partition. Prints each side, the ratios, and a final JSON line.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from driftgate.local import local_stack
from driftgate.paths import data_dir
from driftgate.testing.realdata import alpaca_records, gsm8k_records
from functions.common.clients import client

PARTITION_WCU, PARTITION_RCU = 1000, 3000  # DynamoDB's per-partition limits, per second
BEFORE_SHARDING = "785b87a"  # the last commit whose ingest wrote one aggregate and one reservoir item
ROOT = Path(__file__).resolve().parent.parent


def _size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value by DynamoDB's item-size rules (strings by UTF-8 length, numbers
    about one byte per two digits, 3 bytes of overhead per map or list, 1 per element)."""
    (kind, inner), = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return len(inner.lstrip("-").replace(".", "")) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(_size(v) + 1 for v in inner)
    return len(str(inner))


def item_kb(item: dict[str, Any]) -> int:
    return max(1, math.ceil(sum(len(k.encode()) + _size(v) for k, v in item.items()) / 1024))


class Meter:
    """Capacity units per partition key of the state table (aggregates, samples) and of the
    interactions table's sample index, where one exists."""

    def __init__(self, table: str, interactions: str) -> None:
        self.table = table
        self.interactions = interactions
        self.wcu: Counter[str] = Counter()
        self.rcu: Counter[str] = Counter()
        self.sizes: dict[str, int] = {}  # the last written size of each item, to price its reads

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        name = model.name
        if name == "TransactWriteItems":
            for action in params["TransactItems"]:
                (kind, body), = action.items()
                if body["TableName"] == self.interactions and "sample_pk" in body.get("Item", {}):
                    self.wcu["index:" + body["Item"]["sample_pk"]["S"]] += 1  # keys and raw_key: < 1 KB
                if body["TableName"] == self.table:
                    pk = (body.get("Key") or body.get("Item"))["pk"]["S"]
                    self.wcu[pk] += 2 * (item_kb(body["Item"]) if "Item" in body else 1)  # aggregates: < 1 KB
        elif params.get("TableName") == self.table:
            if name == "PutItem":
                key = params["Item"]["pk"]["S"] + "|" + params["Item"]["sk"]["S"]
                self.sizes[key] = item_kb(params["Item"])
                self.wcu[params["Item"]["pk"]["S"]] += self.sizes[key]
            elif name == "GetItem":
                key = params["Key"]["pk"]["S"] + "|" + params["Key"]["sk"]["S"]
                self.rcu[params["Key"]["pk"]["S"]] += math.ceil(self.sizes.get(key, 1) / 4)


def _post(stack: Any, records: list[dict], batch: int) -> None:
    for start in range(0, len(records), batch):
        response = stack.api("POST", "/v1/interactions", {"interactions": records[start:start + batch]})
        assert response.status == 200 and response.json()["accepted"] == len(records[start:start + batch])


def run(warmup: list[dict], records: list[dict], batch: int, shards: int | None) -> dict[str, Any]:
    """One side, on this process's code; ``shards`` None: the code's default (or no such setting)."""
    with local_stack(context={"driftgate:ingest_shards": shards} if shards else None) as stack:
        _post(stack, warmup, batch)
        with stack.environment("ApiHandler"):
            meter = Meter(os.environ["STATE_TABLE"], os.environ["INTERACTIONS_TABLE"])
            # The API params, before serialization, on the client ingest's store uses.
            client("dynamodb").meta.events.register("before-parameter-build.dynamodb", meter)
        _post(stack, records, batch)
    hot_w, hot_r = max(meter.wcu.values()), max(meter.rcu.values(), default=0)
    per_record_w, per_record_r = hot_w / len(records), hot_r / len(records)
    ceiling = min(PARTITION_WCU / per_record_w, PARTITION_RCU / per_record_r if per_record_r else math.inf)
    return {"shards": shards, "partitions_written": len(meter.wcu),
            "hot_partition_wcu_per_record": round(per_record_w, 3),
            "hot_partition_rcu_per_record": round(per_record_r, 3),
            "total_wcu_per_record": round(sum(meter.wcu.values()) / len(records), 3),
            "ceiling_records_per_s": round(ceiling)}


def run_before(commit: str, warmup: list[dict], records: list[dict], batch: int) -> dict[str, Any]:
    """``run`` on the code of ``commit``, checked out in a temporary git worktree: this file's
    meter, that commit's handlers and local stack."""
    with tempfile.TemporaryDirectory() as folder:
        tree = Path(folder) / "before"
        git = ["git", "-C", str(ROOT), "worktree"]
        subprocess.run([*git, "add", "--detach", "--quiet", str(tree), commit], check=True)
        try:
            (Path(folder) / "args.json").write_text(json.dumps([warmup, records, batch]))
            script = ("import importlib.util, json, sys; spec = importlib.util.spec_from_file_location('meter', "
                      f"{str(Path(__file__).resolve())!r}); m = importlib.util.module_from_spec(spec); "
                      "spec.loader.exec_module(m); args = json.load(open(sys.argv[1])); "
                      "print('RESULT ' + json.dumps(m.run(*args, None)))")
            env = {**os.environ, "PYTHONPATH": str(tree), "DRIFTGATE_DATA": str(data_dir())}
            done = subprocess.run([sys.executable, "-c", script, str(Path(folder) / "args.json")], cwd=tree, env=env,
                                  capture_output=True, text=True)
            lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
            if done.returncode or not lines:
                raise RuntimeError(f"the run at {commit} failed:\n{done.stderr[-3000:]}")
            return {**json.loads(lines[-1].removeprefix("RESULT ")), "code": commit}
        finally:
            subprocess.run([*git, "remove", "--force", str(tree)], check=False)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warmup", type=int, default=400, help="records stored before metering")
    parser.add_argument("--records", type=int, default=800, help="records metered")
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--before", default=BEFORE_SHARDING, help="the commit to compare with")
    args = parser.parse_args(argv)
    total = args.warmup + args.records
    if total > 1319 + 805 * 2:
        parser.error("at most 2929 records: the shared data's GSM8K test set and two AlpacaEval files")
    pool = (gsm8k_records(1319, model="bench", day="2026-11-20")
            + alpaca_records("Mixtral-8x7B-Instruct-v0.1", 805, model="bench", day="2026-11-20")
            + alpaca_records("alpaca-7b", 805, model="bench", day="2026-11-20"))
    pool = [{**r, "request_id": f"{r['request_id']}#{i}"} for i, r in enumerate(pool)]  # two files share ids
    warmup, records = pool[:args.warmup], pool[args.warmup:total]
    sides = {"before": run_before(args.before, warmup, records, args.batch),
             "1 shard": run(warmup, records, args.batch, 1), "sharded": run(warmup, records, args.batch, None)}
    print(f"{len(records)} real records metered after {len(warmup)}, batches of {args.batch}, one model window")
    for name, side in sides.items():
        print(f"  {name:8s}: hottest partition {side['hot_partition_wcu_per_record']} WCU and "
              f"{side['hot_partition_rcu_per_record']} RCU per record ({side['partitions_written']} partitions "
              f"written; {side['total_wcu_per_record']} WCU per record in all) -> ceiling "
              f"{side['ceiling_records_per_s']} records/s per model")
    ratio = round(sides["sharded"]["ceiling_records_per_s"] / sides["before"]["ceiling_records_per_s"], 1)
    print(f"sharded / before ceiling: {ratio}x")
    result = {"records": len(records), "batch": args.batch, **sides, "ceiling_ratio": ratio}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
