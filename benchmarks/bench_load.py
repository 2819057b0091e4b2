"""Load over loopback HTTP: ``driftgate serve``'s server on a local stack, several concurrent
clients sending real interactions with deliberate duplicates, then an audit of what was stored.

    python -m benchmarks.bench_load [--unique 1200] [--clients 8] [--seed 7] [--request-timeout 900]

The run time grows with the square of ``--unique``: moto's TransactWriteItems deep-copies the
whole table once per action, so each batch costs (its size) x (the records already stored).

Duplicates in the load: request ids shared by two batches that two clients send at the same
moment, a request id twice in one batch, whole batches re-sent after their response (a client
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
import http.client
import json
import math
import os
import random
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any, Literal

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import boto3  # noqa: E402

from benchmarks.bench_scoring import run_pack  # noqa: E402
from driftgate.local import LocalDeployment, local_stack  # noqa: E402
from driftgate.local.server import make_server  # noqa: E402
from tests.pipeline.realdata import alpaca_records, gsm8k_records  # noqa: E402

PATH = "/v1/interactions"
MAX_BATCH = 100  # the API's limit per request
MAX_ATTEMPTS = 3  # an unplanned failure (timeout, lost connection, 5xx) is retried at most this often
SOURCES = ("gsm8k", "Mixtral-8x7B-Instruct-v0.1", "alpaca-7b", "gpt4_1106_preview",
           "Mixtral-8x7B-Instruct-v0.1_concise", "Mixtral-8x7B-Instruct-v0.1_verbose")
DAYS = ("2026-11-20", "2026-11-21", "2026-11-22")  # several windows per model
Action = Literal["send", "resend", "drop"]


# -- the load plan -------------------------------------------------------------------------------
def real_interactions(n: int) -> list[dict[str, Any]]:
    """``n`` distinct real records: GSM8K first, then AlpacaEval files, one model per source,
    timestamps spread over ``DAYS``."""
    records: list[dict[str, Any]] = []
    for source in SOURCES:
        model = "load-" + source.replace("_", "-").lower()  # model names allow no underscore
        rows = (gsm8k_records(n, model=model) if source == "gsm8k"
                else alpaca_records(source, n, model=model))
        for i, row in enumerate(rows[:n - len(records)]):
            records.append({**row, "timestamp": f"{DAYS[i % len(DAYS)]}T12:00:00Z"})
        if len(records) == n:
            return records
    raise ValueError(f"the real data holds fewer than {n} records")


@dataclass(frozen=True)
class Job:
    """One batch a client sends: ``send`` once; ``resend`` again after reading the response;
    ``drop`` closes the socket right after sending, then sends again and reads."""

    batch: int
    records: tuple[dict[str, Any], ...]
    action: Action

    @property
    def ids(self) -> list[str]:
        return [r["request_id"] for r in self.records]


@dataclass(frozen=True)
class Plan:
    jobs: tuple[Job, ...]
    unique_ids: frozenset[str]
    shared: frozenset[str]  # ids sent in two batches by two clients
    repeated: frozenset[str]  # ids twice in one batch

    def __repr__(self) -> str:  # the records are long; a failing assertion should stay readable
        return f"Plan({len(self.jobs)} batches, {len(self.unique_ids)} ids, {self.sent} sent)"

    @property
    def requests(self) -> int:
        return sum(2 if j.action != "send" else 1 for j in self.jobs)

    @property
    def sent(self) -> int:
        """Records in all requests, the dropped ones included."""
        return sum(len(j.records) * (2 if j.action != "send" else 1) for j in self.jobs)

    @property
    def duplicates(self) -> int:
        return self.sent - len(self.unique_ids)

    @property
    def dropped_ids(self) -> frozenset[str]:
        return frozenset(i for j in self.jobs if j.action == "drop" for i in j.ids)


def make_plan(unique: int, *, clients: int, sizes: tuple[int, int], retried: float, shared_per_pair: int,
              repeats: int, seed: int) -> Plan:
    """Splits ``unique`` real records into batches and adds the duplicates. The smallest
    ``retried`` fraction of batches is retried (half dropped, half re-sent; at least one each).
    Batch ``i`` goes to client ``i % clients``, so batches ``i`` and ``i + 1`` are sent by
    different clients at about the same time: that is where shared ids go. Dropped batches share
    nothing, so every id whose response was lost is known."""
    rng = random.Random(seed)
    records = real_interactions(unique)
    batches: list[list[dict[str, Any]]] = []
    while len(records) > sum(map(len, batches)):
        start = sum(map(len, batches))
        batches.append(records[start:start + rng.randint(*sizes)])
    drops = resends = max(1, round(len(batches) * retried / 2))
    if len(batches) < drops + resends + 2:
        raise ValueError("too few batches for the retries asked for")
    # Retried batches are the smallest ones, so retries do not dominate the duplicates.
    by_size = sorted(range(len(batches)), key=lambda i: (len(batches[i]), i))
    actions: dict[int, Action] = {i: "drop" for i in by_size[:drops]}
    actions.update({i: "resend" for i in by_size[drops:drops + resends]})
    shared: set[str] = set()
    for i in range(len(batches) - 1):
        if "drop" in (actions.get(i), actions.get(i + 1)) or clients < 2:
            continue
        own = [r for r in batches[i] if r["request_id"] not in shared]  # each id in two batches, not three
        for record in rng.sample(own, min(shared_per_pair, len(own))):
            batches[i + 1].insert(rng.randrange(len(batches[i + 1]) + 1), record)
            shared.add(record["request_id"])
    repeated: set[str] = set()
    plain = [i for i in range(len(batches)) if i not in actions]
    for i in rng.sample(plain, min(repeats, len(plain))):
        record = rng.choice([r for r in batches[i] if r["request_id"] not in shared])
        batches[i].append(record)
        repeated.add(record["request_id"])
    if max(map(len, batches)) > MAX_BATCH:
        raise ValueError(f"a batch exceeds the API's {MAX_BATCH} records; lower the sizes")
    jobs = tuple(Job(i, tuple(b), actions.get(i, "send")) for i, b in enumerate(batches))
    return Plan(jobs, frozenset(r["request_id"] for r in records), frozenset(shared), frozenset(repeated))


# -- the clients ---------------------------------------------------------------------------------
@dataclass
class Attempt:
    """One HTTP request: ``response`` is None when it was never read (a dropped socket)."""

    job: Job
    kind: str  # "first", "resend", "drop", "after-drop", "retry" (unplanned)
    status: int | None = None
    response: dict[str, Any] | None = None
    latency_s: float | None = None
    error: str | None = None


@dataclass
class LoadResult:
    attempts: list[Attempt] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: float = 0.0

    def answered(self) -> Iterator[Attempt]:
        return (a for a in self.attempts if a.response is not None)

    @property
    def unplanned(self) -> list[Attempt]:
        return [a for a in self.attempts if a.kind == "retry" or a.error]

    @property
    def lost_ids(self) -> frozenset[str]:
        """Ids of batches one of whose requests went unanswered (dropped, timed out)."""
        return frozenset(i for a in self.attempts if a.response is None for i in a.job.ids)


class Client:
    """One keep-alive HTTP/1.1 connection, as a real SDK client holds."""

    def __init__(self, port: int, deadline: float, timeout_s: float) -> None:
        self.port = port
        self.deadline = deadline
        self.timeout_s = timeout_s
        self.connection = self._connect()
        self.attempts: list[Attempt] = []

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout_s)

    def run(self, job: Job) -> None:
        body = json.dumps({"interactions": list(job.records)}).encode()
        if job.action == "drop":
            dropped = self._connect()
            dropped.request("POST", PATH, body=body, headers={"Content-Type": "application/json"})
            dropped.close()  # before reading: the server runs the request, its answer is lost
            self.attempts.append(Attempt(job, "drop"))
        self._send(job, body, "after-drop" if job.action == "drop" else "first")
        if job.action == "resend":
            self._send(job, body, "resend")

    def _send(self, job: Job, body: bytes, kind: str) -> None:
        for attempt_no in range(MAX_ATTEMPTS):
            attempt = Attempt(job, kind if attempt_no == 0 else "retry")
            self.attempts.append(attempt)
            start = time.perf_counter()
            try:
                self.connection.request("POST", PATH, body=body, headers={"Content-Type": "application/json"})
                reply = self.connection.getresponse()
                payload = reply.read()
            except (OSError, http.client.HTTPException) as error:
                attempt.error = f"{type(error).__name__}: {error}"
                self.connection.close()
                self.connection = self._connect()
            else:
                attempt.latency_s = time.perf_counter() - start
                attempt.status = reply.status
                attempt.response = json.loads(payload)
                if reply.status < 500:
                    return
            if time.monotonic() > self.deadline:
                return


def run_load(port: int, plan: Plan, clients: int, time_limit_s: float = 600.0,
             request_timeout_s: float = 120.0) -> LoadResult:
    """Each client sends its share of the plan's jobs in order; all start together. A request
    that times out is retried like a lost connection: its first try may still be stored."""
    deadline = time.monotonic() + time_limit_s
    workers = [Client(port, deadline, request_timeout_s) for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)
    failures: list[BaseException] = []

    def work(c: int) -> None:
        barrier.wait()
        try:
            for job in plan.jobs[c::clients]:
                if time.monotonic() > deadline:
                    return
                workers[c].run(job)
        except BaseException as error:  # surfaced below: a crashed client must fail the run
            failures.append(error)
        finally:
            workers[c].connection.close()

    threads = [threading.Thread(target=work, args=(c,), daemon=True) for c in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    wall, cpu = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.join(max(1.0, deadline - time.monotonic() + 5))
    result = LoadResult(wall_s=time.perf_counter() - wall, cpu_s=time.process_time() - cpu)
    if failures or any(t.is_alive() for t in threads):
        raise RuntimeError(f"clients failed or overran {time_limit_s}s: {failures!r}")
    result.attempts = [a for w in workers for a in w.attempts]
    return result


def quiet_disconnects(server: ThreadingHTTPServer) -> ThreadingHTTPServer:
    """A client that hangs up early is expected here; other server errors still print."""
    report = server.handle_error

    def handle_error(request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            report(request, client_address)

    server.handle_error = handle_error  # type: ignore[method-assign]
    return server


def serve_and_load(stack: LocalDeployment, plan: Plan, clients: int, time_limit_s: float = 600.0,
                   request_timeout_s: float = 120.0) -> LoadResult:
    server = quiet_disconnects(make_server(stack, port=0))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        return run_load(server.server_port, plan, clients, time_limit_s, request_timeout_s)
    finally:
        server.shutdown()  # waits for serve_forever; request threads finish with their handler
        server.server_close()  # joins the request threads (ThreadingHTTPServer keeps them)
        thread.join()


def handled_order(stack: LocalDeployment, plan: Plan) -> list[Job]:
    """The plan's batches in the order the handler ran their requests (one at a time, under the
    dispatcher's lock), from the invocations the dispatcher records."""
    by_ids = {tuple(j.ids): j for j in plan.jobs}
    return [by_ids[tuple(r["request_id"] for r in json.loads(event["body"])["interactions"])]
            for logical_id, event in stack.dispatcher.invocations
            if logical_id.startswith("ApiHandler") and event.get("path") == PATH and event.get("httpMethod") == "POST"]


def run_in_process(stack: LocalDeployment, order: list[Job]) -> LoadResult:
    """The peer: the same request bodies, in the order given (the HTTP run's handled order, so
    both sides do the same work in the same order), through ``stack.api`` (the API Gateway event
    and moto Lambda Invoke path the HTTP server also takes), one caller, no HTTP."""
    result = LoadResult()
    kinds = {"send": ["first"], "resend": ["first", "resend"], "drop": ["drop", "after-drop"]}
    seen: Counter[int] = Counter()
    wall, cpu = time.perf_counter(), time.process_time()
    for job in order:
        kind = kinds[job.action][min(seen[job.batch], 1)]
        seen[job.batch] += 1
        start = time.perf_counter()
        response = stack.api("POST", PATH, {"interactions": list(job.records)})
        result.attempts.append(Attempt(job, kind, response.status, response.json(), time.perf_counter() - start))
    result.wall_s, result.cpu_s = time.perf_counter() - wall, time.process_time() - cpu
    return result


# -- the audit -----------------------------------------------------------------------------------
@dataclass
class Stored:
    """What the stack holds after the load, read straight from moto's S3 and DynamoDB."""

    s3_objects: dict[str, list[str]]  # raw key -> request ids, one per JSON line
    dynamo_ids: Counter[str]
    item_raw_keys: dict[str, str | None]  # request id -> the raw object its item names
    dynamo_by_window: Counter[tuple[str, str]]  # (model, window) -> items
    window_n: dict[tuple[str, str], int]  # the aggregate items' count ``n``
    reservoir_seen: dict[tuple[str, str], int]
    reservoir_refs: list[tuple[str, str]]  # (request id, raw key) the samples point to

    @property
    def s3_ids(self) -> Counter[str]:
        return Counter(i for ids in self.s3_objects.values() for i in ids)

    @property
    def s3_lines(self) -> int:
        return sum(map(len, self.s3_objects.values()))


def _scan(dynamodb: Any, table: str) -> Iterator[dict[str, Any]]:
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        yield from page["Items"]


def read_stored(stack: LocalDeployment) -> Stored:
    """Every raw object and every item; call only while no handler runs (the environment is
    process-wide)."""
    with stack.environment("ApiHandler"):
        bucket, table, state = (os.environ[k] for k in ("RAW_BUCKET", "INTERACTIONS_TABLE", "STATE_TABLE"))
    s3 = boto3.client("s3", region_name="us-east-1")
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    objects: dict[str, list[str]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="raw/"):
        for entry in page.get("Contents", []):
            text = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read().decode()
            objects[entry["Key"]] = [json.loads(line)["request_id"] for line in text.splitlines() if line]
    dynamo_ids: Counter[str] = Counter()
    item_keys: dict[str, str | None] = {}
    by_window: Counter[tuple[str, str]] = Counter()
    for item in _scan(dynamodb, table):
        dynamo_ids[item["request_id"]["S"]] += 1
        item_keys[item["request_id"]["S"]] = item.get("raw_key", {}).get("S")
        by_window[(item["model"]["S"], item["window"]["S"])] += 1
    window_n: dict[tuple[str, str], int] = {}
    seen: dict[tuple[str, str], int] = {}
    refs: list[tuple[str, str]] = []
    for item in _scan(dynamodb, state):
        model, sk = item["pk"]["S"].removeprefix("MODEL#"), item["sk"]["S"]
        if sk.startswith("WINDOW#"):
            window_n[(model, sk.removeprefix("WINDOW#"))] = int(item["n"]["N"])
        elif sk.startswith("RESERVOIR#"):
            sample = item["state"]["M"]
            seen[(model, sk.removeprefix("RESERVOIR#"))] = int(sample["seen"]["N"])
            refs += [(e["M"]["request_id"]["S"], e["M"]["raw_key"]["S"]) for e in sample["items"]["L"]]
    return Stored(objects, dynamo_ids, item_keys, by_window, window_n, seen, refs)


@dataclass(frozen=True)
class Accounting:
    """What the clients were told, against the plan."""

    accepted: Counter[str]  # request id -> responses that said "accepted"
    accepted_total: int  # sum of the responses' ``accepted``
    unreported: frozenset[str]  # stored ids no answered response accepted
    bad_status: int
    bad_totals: int  # responses whose accepted + duplicates is not the batch size
    resend_accepted: int  # records a re-send after a read response accepted (must be 0)


def account(plan: Plan, result: LoadResult) -> Accounting:
    accepted: Counter[str] = Counter()
    total = bad_status = bad_totals = resend_accepted = 0
    for attempt in result.answered():
        body = attempt.response or {}
        if attempt.status != 200:
            bad_status += 1
            continue
        total += body["accepted"]
        bad_totals += body["accepted"] + body["duplicates"] != len(attempt.job.records)
        accepted.update(r["request_id"] for r in body["results"] if r["status"] == "accepted")
        if attempt.kind == "resend":
            resend_accepted += body["accepted"]
    return Accounting(accepted, total, frozenset(plan.unique_ids - set(accepted)), bad_status, bad_totals,
                      resend_accepted)


def problems(plan: Plan, result: LoadResult, stored: Stored) -> list[str]:
    """Every way the stored data or the answers differ from exactly-once; empty when exact."""
    unique = len(plan.unique_ids)
    books = account(plan, result)
    found = []
    checks = {
        "S3 JSON lines": stored.s3_lines, "S3 distinct ids": len(stored.s3_ids),
        "DynamoDB items": sum(stored.dynamo_ids.values()), "DynamoDB distinct ids": len(stored.dynamo_ids),
        "window aggregates n": sum(stored.window_n.values()), "reservoirs seen": sum(stored.reservoir_seen.values()),
        "accepted + unreported": books.accepted_total + len(books.unreported),
    }
    found += [f"{name} = {value}, expected {unique}" for name, value in checks.items() if value != unique]
    if set(stored.s3_ids) != plan.unique_ids or set(stored.dynamo_ids) != plan.unique_ids:
        found.append("stored request ids differ from the ones sent")
    found += [f"window {w}: n {n} but {stored.dynamo_by_window.get(w, 0)} items"
              for w, n in stored.window_n.items() if n != stored.dynamo_by_window.get(w, 0)]
    if stored.reservoir_seen != stored.window_n:
        found.append("a reservoir's seen count differs from its window's n")
    refs = [("sample", rid, key) for rid, key in stored.reservoir_refs]
    refs += [("item", rid, key) for rid, key in stored.item_raw_keys.items()]
    found += [f"{what} {rid} points to {key}, which lacks it"
              for what, rid, key in refs if key is None or rid not in stored.s3_objects.get(key, [])]
    if max(books.accepted.values(), default=1) > 1:
        found.append("an id was accepted by two responses")
    if not books.unreported <= result.lost_ids:
        found.append(f"ids no answer accepted, outside unanswered batches: {sorted(books.unreported - result.lost_ids)[:5]}")
    found += [f"{name}: {value}" for name, value in (("non-200 responses", books.bad_status),
              ("responses with accepted + duplicates != batch size", books.bad_totals),
              ("records a resend accepted", books.resend_accepted)) if value]
    return found


# -- the benchmark -------------------------------------------------------------------------------
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
