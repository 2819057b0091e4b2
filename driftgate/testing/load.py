"""The load harness: real interactions split into batches with deliberate duplicates (``make_plan``),
concurrent keep-alive HTTP clients sending them to ``driftgate serve``'s server on a local stack
(``serve_and_load``), and the same bodies through the in-process API entry point
(``run_in_process``). ``driftgate.testing.audit`` then checks what was stored.

Duplicates in a plan: request ids shared by two batches that two clients send at the same moment,
a request id twice in one batch, whole batches re-sent after their response (a client retry), and
batches sent on a socket closed before the response is read, then re-sent.

Used by ``tests/reliability/test_load.py`` (exact counts) and ``benchmarks/bench_load.py``
(throughput and latency as well).
"""
from __future__ import annotations

import http.client
import json
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any, Literal

from driftgate.local import LocalDeployment
from driftgate.local.server import make_server
from driftgate.testing.realdata import alpaca_records, gsm8k_records

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

    server.handle_error = handle_error  # type: ignore[method-assign]  # this server's own, on purpose
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
