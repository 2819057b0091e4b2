"""What the demo workload uses of each priced AWS meter, on the local stack: the measurements that
``driftgate cost`` prices (``driftgate/cost/measured/demo.json``).

    python -m benchmarks.bench_cost [--out FILE]

The demo's streams (``driftgate.demo.build_streams``: 160 healthy and 320 drifted real
interactions, feedback on 150) through the API, one scheduled drift check, and the retrain it
starts (dataset, LoRA training and both evaluations as local SageMaker jobs, gate, registry,
promotion; ``rollout`` direct, so no canary loop). Three phases are metered apart:

- ``ingest``: the POSTs of interactions and feedback;
- ``drift_check``: one scheduled check of one model (dispatcher + check; embeddings computed,
  no disk cache, as in a fresh Lambda container);
- ``retrain``: one execution of the state machine.

For each phase: Lambda invocations and handler seconds per function (a nested invocation's time
is its own function's, not its caller's), API Gateway requests, DynamoDB request units (from
each call's items by DynamoDB's size rules: 1 WRU per KB written, 2 in a transaction, 1 RRU per
4 KB read), S3 requests by price tier, CloudWatch Logs bytes (the handlers' INFO logs and EMF
lines, as the deployed functions log), Step Functions state transitions (StateEntered events of
the execution's history) and SageMaker job seconds (wall time of each local job). At the end,
the bytes stored per interaction (raw S3 objects and DynamoDB items) and per retrain (artifacts),
and the distinct custom metrics. Prints a summary and the JSON it wrote.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import boto3

from benchmarks.bench_ingest_keys import _size
from benchmarks.cost_meter import Meter, function_name
from driftgate import job_process
from driftgate.cost.measure import DEFAULT_MEASUREMENTS
from driftgate.demo import MATH_N, MODEL, build_streams, production_answers
from driftgate.local import LocalDeployment, local_stack
from driftgate.local.deployment import REGION
from driftgate.local.profile import local_training_context
from driftgate.paths import data_dir, tiny_base_cache
from functions.common.contract import Settings

ROOT = Path(__file__).resolve().parent.parent


def _emf_to_logs(stack: LocalDeployment, meter: Meter, before: int, phase: str) -> None:
    """The dispatcher collects EMF lines instead of printing them; in Lambda they are log lines."""
    meter.usage[phase]["log_bytes"] += sum(len(json.dumps(line)) + 1 for line in stack.dispatcher.metrics[before:])


def custom_metrics(lines: list[dict[str, Any]]) -> int:
    """Distinct (namespace, metric, dimension values): what CloudWatch bills per month."""
    seen = set()
    for line in lines:
        for directive in line.get("_aws", {}).get("CloudWatchMetrics", []):
            for dimensions in directive.get("Dimensions", [[]]):
                values = tuple((d, str(line.get(d))) for d in dimensions)
                seen.update((directive["Namespace"], m["Name"], values) for m in directive["Metrics"])
    return len(seen)


def transitions(execution_arn: str) -> int:
    sfn, count, token = boto3.client("stepfunctions", region_name=REGION), 0, None
    while True:
        page = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000,
                                         **({"nextToken": token} if token else {}))
        count += sum("stateEnteredEventDetails" in e for e in page["events"])
        if not (token := page.get("nextToken")):
            return count


def bucket_bytes(stack: LocalDeployment, logical_prefix: str) -> int:
    s3 = boto3.client("s3", region_name=REGION)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=stack.find("AWS::S3::Bucket", logical_prefix))
    return sum(o["Size"] for page in pages for o in page.get("Contents", []))


def table_bytes(stack: LocalDeployment, logical_prefix: str) -> int:
    """DynamoDB's billed size: the items by its size rules plus 100 bytes of overhead each."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    pages = dynamodb.get_paginator("scan").paginate(TableName=stack.find("AWS::DynamoDB::Table", logical_prefix))
    return sum(sum(len(k.encode()) + _size(v) for k, v in item.items()) + 100
               for page in pages for item in page["Items"])


def ttl_days(stack: LocalDeployment, logical_prefix: str) -> int | None:
    """How long the table's items live by their TTL attribute (the median over items that have one);
    None when no item has one: nothing expires them."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    pages = dynamodb.get_paginator("scan").paginate(TableName=stack.find("AWS::DynamoDB::Table", logical_prefix))
    left = sorted(float(item["expires_at"]["N"]) - time.time() for page in pages for item in page["Items"]
                  if "expires_at" in item)
    return round(left[len(left) // 2] / 86400) if left else None


def _phase(meter: Meter, name: str, units: int, **extra: Any) -> dict[str, Any]:
    return {"units": units, "invocations": dict(meter.invocations[name]),
            "lambda_seconds": {k: round(v, 4) for k, v in meter.seconds[name].items()},
            "usage": {k: round(v, 3) for k, v in meter.usage[name].items()}, **extra}


def _training_samples(output: dict[str, Any]) -> int:
    counts = ((output.get("dataset") or {}).get("manifest") or {}).get("counts") or {}
    return int(counts.get("train", 0))


def _commit() -> str:
    done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def run(out: Path) -> dict[str, Any]:
    from finetune.base_model import baseline_records, build_tiny_base

    base = build_tiny_base(tiny_base_cache(), baseline_records(data_dir()))
    # A new interpreter per SageMaker job, as a container starts one: its imports are billed too.
    os.environ[job_process.MODE_VARIABLE] = "fresh"
    context = local_training_context(base, **{"driftgate:monitored_models": [MODEL], "driftgate:rollout": "direct"})
    evaluation = context["driftgate:evaluation_hyperparameters"]
    streams = build_streams(production_answers(base, max_new_tokens=int(evaluation["max_new_tokens"]),
                                               max_length=int(evaluation["max_length"])), math_n=MATH_N)
    with local_stack(context=context) as stack:
        # As deployed: INFO logs (the local default is WARNING) and no embeddings cached on disk.
        stack.dispatcher.local_environment["POWERTOOLS_LOG_LEVEL"] = "INFO"
        stack.dispatcher.local_environment[Settings.embedding_cache_dir.name] = ""
        meter = Meter(stack)
        meter.install()
        interactions = len(streams.healthy) + len(streams.drifted)
        metrics_before = len(stack.dispatcher.metrics)
        with meter.measuring("ingest"):
            started = time.perf_counter()
            for records in (streams.healthy, streams.drifted):
                for i in range(0, len(records), 100):
                    assert stack.api("POST", "/v1/interactions", {"interactions": records[i:i + 100]}).status == 200
                if records is streams.healthy:
                    meter.phase = None  # freezing the baseline is a one-off
                    assert stack.api("POST", f"/v1/models/{MODEL}/baseline").status == 200
                    meter.phase = "ingest"
            for item in streams.feedback:
                stack.api("POST", "/v1/feedback", item)
            ingest_wall = time.perf_counter() - started
        _emf_to_logs(stack, meter, metrics_before, "ingest")
        metrics_before = len(stack.dispatcher.metrics)
        with meter.measuring("drift_check"):
            (check,) = stack.fire_schedule()[0]["checks"]
        _emf_to_logs(stack, meter, metrics_before, "drift_check")
        assert check.get("execution_arn"), f"the demo's drift check did not start a retrain: {check['status']}"
        metrics_before = len(stack.dispatcher.metrics)
        with meter.measuring("retrain"):
            execution = stack.wait(check["execution_arn"], timeout_s=3600)
        _emf_to_logs(stack, meter, metrics_before, "retrain")
        assert execution.status == "SUCCEEDED", f"{execution.status}: {execution.error} {execution.cause}"
        meter.usage["retrain"]["state_transitions"] = transitions(execution.arn)
        stored = {"s3_bytes": bucket_bytes(stack, "StorageRaw"),
                  "dynamodb_bytes": table_bytes(stack, "StorageInteractions") + table_bytes(stack, "StorageState")}
        artifacts = bucket_bytes(stack, "StorageArtifacts")
        dynamodb_days = ttl_days(stack, "StorageInteractions")
        n_metrics = custom_metrics(stack.dispatcher.metrics)
        template = stack.template
    epochs = float(context["driftgate:training_hyperparameters"]["num_train_epochs"])
    result = {
        "schema": 1,
        "measured_on": datetime.now(UTC).date().isoformat(),
        "commit": _commit(),
        "workload": (f"driftgate demo streams: {len(streams.healthy)} healthy + {len(streams.drifted)} drifted real "
                     f"interactions in batches of 100, {len(streams.feedback)} feedback; 1 drift check; 1 retrain "
                     "(tiny base model, CPU, rollout direct)"),
        "machine": f"local stack (moto), {os.cpu_count()} shared CPU cores",
        "functions": function_configs(template),
        "phases": {
            "ingest": _phase(meter, "ingest", interactions, unit="interaction", wall_s=round(ingest_wall, 2)),
            "drift_check": _phase(meter, "drift_check", 1, unit="check of one model"),
            "retrain": _phase(meter, "retrain", 1, unit="retrain", sagemaker_jobs=meter.jobs,
                              training_samples=_training_samples(execution.output or {}), epochs=epochs),
        },
        "storage": {"interactions": interactions,
                    "s3_bytes_per_interaction": round(stored["s3_bytes"] / interactions, 1),
                    "dynamodb_bytes_per_interaction": round(stored["dynamodb_bytes"] / interactions, 1),
                    "artifact_bytes_per_retrain": artifacts, **retention(template),
                    "dynamodb_retention_days": dynamodb_days},
        "fixed": {"custom_metrics": n_metrics, **fixed_resources(template)},
        "assumptions": {
            "sagemaker_instance_seconds_per_local_second": 1.0,
            "lambda_platform_log_bytes_per_invocation": 0,
            "note": ("SageMaker seconds are the local jobs' (tiny base model, CPU) taken 1:1 as seconds on the "
                     "configured instance: no local measurement can scale them to a GPU and the production base "
                     "model; override with `driftgate cost --sagemaker-seconds`. Lambda's own START/END/REPORT "
                     "log lines are not emitted locally and not counted. KMS: the buckets use S3 bucket keys and "
                     "DynamoDB caches its table key, so the services' own KMS calls are few and not seen locally; "
                     "kms_requests counts the handlers' direct calls."),
        },
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return result


def _resources(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r.get("Properties", {}) for r in template["Resources"].values() if r["Type"] == kind]


def retention(template: dict[str, Any]) -> dict[str, int]:
    """How long stored interactions and logs are kept, from the template: the raw bucket's expiry
    (the interactions table's TTL follows the same setting) and move to Standard-IA, and the
    longest log group retention."""
    (raw,) = [r["Properties"] for lid, r in template["Resources"].items() if lid.startswith("StorageRawInteractions")
              and r["Type"] == "AWS::S3::Bucket"]
    (rule,) = [r for r in raw["LifecycleConfiguration"]["Rules"] if "ExpirationInDays" in r]
    ia = [t["TransitionInDays"] for t in rule.get("Transitions", []) if t["StorageClass"] == "STANDARD_IA"]
    logs = [g["RetentionInDays"] for g in _resources(template, "AWS::Logs::LogGroup") if "RetentionInDays" in g]
    return {"retention_days": rule["ExpirationInDays"], "ia_after_days": min(ia, default=None),
            "log_retention_days": max(logs)}


def fixed_resources(template: dict[str, Any]) -> dict[str, Any]:
    """What is billed per month whatever the traffic, and the drift schedule, from the template."""
    acls = _resources(template, "AWS::WAFv2::WebACL")
    rules = _resources(template, "AWS::Events::Rule")
    (schedule,) = [r["ScheduleExpression"] for r in rules if "ScheduleExpression" in r]
    return {"kms_keys": len(_resources(template, "AWS::KMS::Key")), "waf_web_acls": len(acls),
            "secrets": len(_resources(template, "AWS::SecretsManager::Secret")),
            "waf_rules": sum(len(a.get("Rules", [])) for a in acls), "drift_schedule": schedule,
            "checks_per_day": checks_per_day(schedule)}


def checks_per_day(expression: str) -> float:
    """``rate(1 hour)`` -> 24; cron expressions are not counted here (pass --checks-per-day)."""
    match = re.fullmatch(r"rate\((\d+) (minutes?|hours?|days?)\)", expression)
    if not match:
        raise ValueError(f"cannot count the checks of {expression!r}; only rate() expressions")
    minutes = {"minute": 1, "hour": 60, "day": 1440}[match[2].rstrip("s")]
    return 1440 / (int(match[1]) * minutes)


def function_configs(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each function's configured memory and architecture, as the template sets them."""
    return {function_name(lid): {"memory_mb": r["Properties"]["MemorySize"],
                                 "architecture": (r["Properties"].get("Architectures") or ["x86_64"])[0]}
            for lid, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}


def refresh(path: Path) -> dict[str, Any]:
    """Re-reads what a measurements file takes from the template (memory, retention, schedule, keys,
    WAF) from today's synthesized stack, keeping the measured usage: for a settings change that
    does not change what the handlers do."""
    from driftgate.local.template import synthesize

    data = json.loads(path.read_text())
    template = synthesize({"driftgate:rollout": "direct"})
    data["functions"] = {name: config for name, config in function_configs(template).items()
                         if name in data["functions"]}
    data["storage"].update(retention(template))
    data["fixed"].update(fixed_resources(template))
    path.write_text(json.dumps(data, indent=2) + "\n")
    return data


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_MEASUREMENTS, help="where to write the measurements")
    parser.add_argument("--refresh", action="store_true",
                        help="only re-read the template's part of --out (memory, retention, fixed resources)")
    args = parser.parse_args(argv)
    if args.refresh:
        print(json.dumps(refresh(args.out)))
        return {}
    result = run(args.out)
    for name, phase in result["phases"].items():
        seconds = sum(phase["lambda_seconds"].values())
        print(f"{name}: {phase['units']} {phase['unit']}(s), {sum(phase['invocations'].values())} invocations, "
              f"{seconds:.1f} handler-s, {phase['usage']}", file=sys.__stdout__)
    print(f"wrote {args.out}", file=sys.__stdout__)
    print(json.dumps(result), file=sys.__stdout__)
    return result


if __name__ == "__main__":
    main()
