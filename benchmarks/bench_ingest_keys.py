"""Hot keys in ingest: DynamoDB capacity units per partition key, unsharded against sharded, on the
same real records through the same handler in one run.

    python -m benchmarks.bench_ingest_keys [--warmup 1200] [--records 1200] [--batch 20]

Every DynamoDB call the ingest handler makes is recorded (botocore's before-parameter-build event on the
handler's own client) with the partition keys it touches and its capacity units, estimated by
DynamoDB's published rules: a write costs 1 WCU per KB of item (2 inside a transaction), a
strongly consistent read 1 RCU per 4 KB. One local stack runs with ``driftgate:ingest_shards``
= 1 (every record of a model window updates one aggregate item and one sample item, as before
sharding), one with the default, both on one model and one window (the worst case: everything
lands on the same keys). The first ``--warmup`` records fill the window's samples unmetered: a busy
window is past that within minutes, and a full sample takes few new records, so few writes.

The ceiling follows from DynamoDB's per-partition limits (1,000 WCU/s and 3,000 RCU/s): records/s
per model = min(1000 / WCU per record, 3000 / RCU per record) on the hottest partition. Prints both
sides, their ratio, and a final JSON line.
"""
from __future__ import annotations

import argparse
import json
import math
import os
from collections import Counter
from typing import Any

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from driftgate.local import local_stack
from driftgate.testing.realdata import alpaca_records, gsm8k_records
from functions.common.clients import client
from functions.common.contract import Settings

PARTITION_WCU, PARTITION_RCU = 1000, 3000  # DynamoDB's per-partition limits, per second
DEFAULT_SHARDS = Settings.defaults()["ingest_shards"]


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
    """Capacity units per partition key of the state table (aggregates and samples live there)."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.wcu: Counter[str] = Counter()
        self.rcu: Counter[str] = Counter()
        self.sizes: dict[str, int] = {}  # the last written size of each item, to price its reads

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        name = model.name
        if name == "TransactWriteItems":
            for action in params["TransactItems"]:
                (kind, body), = action.items()
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


def run(warmup: list[dict], records: list[dict], batch: int, shards: int) -> dict[str, Any]:
    with local_stack(context={"driftgate:ingest_shards": shards}) as stack:
        _post(stack, warmup, batch)
        with stack.environment("ApiHandler"):
            meter = Meter(os.environ["STATE_TABLE"])
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


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warmup", type=int, default=1200, help="records stored before metering")
    parser.add_argument("--records", type=int, default=1200, help="records metered")
    parser.add_argument("--batch", type=int, default=20)
    args = parser.parse_args(argv)
    total = args.warmup + args.records
    if total > 1319 + 805 * 2:
        parser.error("at most 2929 records: the shared data's GSM8K test set and two AlpacaEval files")
    pool = (gsm8k_records(1319, model="bench", day="2026-11-20")
            + alpaca_records("Mixtral-8x7B-Instruct-v0.1", 805, model="bench", day="2026-11-20")
            + alpaca_records("alpaca-7b", 805, model="bench", day="2026-11-20"))
    pool = [{**r, "request_id": f"{r['request_id']}#{i}"} for i, r in enumerate(pool)]  # two files share ids
    warmup, records = pool[:args.warmup], pool[args.warmup:total]
    before = run(warmup, records, args.batch, 1)
    after = run(warmup, records, args.batch, DEFAULT_SHARDS)
    print(f"{len(records)} real records metered after {len(warmup)}, batches of {args.batch}, one model window")
    for side in (before, after):
        print(f"  {side['shards']} shard(s): hottest partition {side['hot_partition_wcu_per_record']} WCU and "
              f"{side['hot_partition_rcu_per_record']} RCU per record ({side['partitions_written']} partitions "
              f"written; {side['total_wcu_per_record']} WCU per record in all) -> ceiling "
              f"{side['ceiling_records_per_s']} records/s per model")
    ratio = round(after["ceiling_records_per_s"] / before["ceiling_records_per_s"], 1)
    print(f"sharded / unsharded ceiling: {ratio}x")
    result = {"records": len(records), "batch": args.batch, "unsharded": before, "sharded": after,
              "ceiling_ratio": ratio}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
