"""The main job: the whole maintenance loop on the local stack with real data.

1. deploy the stack locally (moto) and prepare the tiny base model ("production", cached);
2. replay a healthy stream (Mixtral-8x7B answers to AlpacaEval's helpful_base/oasst prompts,
   scored against GPT-4-turbo's answers to the same instructions) through the API and freeze it
   as the baseline;
3. replay a drifted, degraded stream: other prompt sets answered by alpaca-7b (much weaker), and
   maths questions (GSM8K) answered by the local production model, which never saw maths, scored
   against GSM8K's worked solutions; users' thumbs-down and corrections (GPT-4-turbo's answer,
   the worked solution) on some of them;
4. fire the scheduled drift check: the breach starts the retrain state machine (dataset, LoRA
   training, evaluation, gate, registry), each state printed as it passes;
5. the canary: the version that passed the gate becomes staging; a live stream, each unit's arm
   chosen by the serving route, goes through the API (answers replayed from AlpacaEval: staging
   answers as Mixtral-8x7B, production as alpaca-7b, both scored against GPT-4-turbo's) until the
   always-valid test decides and the run promotes (or retires) it;
6. show the registry, the alias history, the gate's and the canary's numbers, and write the HTML report.

No output is its own reference: the healthy baseline's mean quality is what the scorer gives
Mixtral's answers against GPT-4-turbo's, well below 1.
"""
from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from driftgate.paths import data_dir, state_dir, tiny_base_cache
from driftgate.testing import live_canary

MODEL = "support-bot"
HEALTHY_GENERATOR, DEGRADED_GENERATOR = "Mixtral-8x7B-Instruct-v0.1", "alpaca-7b"
HEALTHY_SETS = ("helpful_base", "oasst")
HEALTHY_DAY, DRIFTED_DAY = "2026-11-20", "2026-11-21"
MATH_N = 160
BATCH = 100
# The canary: half the units to staging, a look a second (at most 1,800: a half-hour limit).
CANARY = {"driftgate:rollout": "canary", "driftgate:canary_share": 0.5, "driftgate:canary_wait_seconds": 1,
          "driftgate:canary_max_hours": 0.5}


def _read(path: Path) -> list[dict[str, Any]]:
    with open(path) as lines:
        return [json.loads(line) for line in lines]


def _record(row: dict[str, Any], day: str, output: str) -> dict[str, Any]:
    return {"request_id": row["id"], "model": MODEL, "prompt": row["prompt"], "output": output,
            "reference": row["reference"], "metadata": {"prompt_set": row["prompt_set"]},
            "timestamp": f"{day}T12:00:00Z"}


@dataclass
class Streams:
    healthy: list[dict[str, Any]]
    drifted: list[dict[str, Any]]
    feedback: list[dict[str, Any]] = field(default_factory=list)


Answerer = Callable[[list[str]], list[str]]  # prompts -> the production model's answers


def production_answers(base: Path, *, max_new_tokens: int, max_length: int,
                       progress: Callable[[int], None] | None = None) -> Answerer:
    """Greedy answers of the local production model (the tiny base), as the evaluation job
    generates them."""
    from finetune.modeling import generate, load_for_inference

    def answer(prompts: list[str]) -> list[str]:
        model, tokenizer = load_for_inference(base)
        done = [0]

        def advance(count: int, _total: int) -> None:
            if progress:
                progress(count - done[0])
            done[0] = count

        return generate(model, tokenizer, prompts, max_new_tokens=max_new_tokens, max_length=max_length,
                        batch_size=16, progress=advance)

    return answer


def build_streams(answer_maths: Answerer, healthy_n: int = 160, degraded_n: int = 160, math_n: int = MATH_N,
                  corrections: int = 40, thumbs_down: int = 30, math_corrections: int = 80) -> Streams:
    """Real records from ../shared/data; which ones is fixed, so every demo run is the same. The
    AlpacaEval files' ``reference`` is GPT-4-turbo's answer to the same instruction."""
    healthy_rows = _read(data_dir() / "alpaca_eval" / f"{HEALTHY_GENERATOR}.jsonl")
    degraded_rows = [r for r in _read(data_dir() / "alpaca_eval" / f"{DEGRADED_GENERATOR}.jsonl")
                     if r["prompt_set"] not in HEALTHY_SETS][:degraded_n]
    healthy = [_record(r, HEALTHY_DAY, r["output"])
               for r in healthy_rows if r["prompt_set"] in HEALTHY_SETS][:healthy_n]
    degraded = [_record(r, DRIFTED_DAY, r["output"]) for r in degraded_rows]
    questions = _read(data_dir() / "gsm8k" / "test.jsonl")[:math_n]
    math = [_record(r, DRIFTED_DAY, output)
            for r, output in zip(questions, answer_maths([r["prompt"] for r in questions]), strict=True)]
    feedback = [{"request_id": r["id"], "rating": -1, "correction": r["reference"]}
                for r in degraded_rows[:corrections] + questions[:math_corrections]]
    feedback += [{"request_id": r["id"], "rating": -1} for r in degraded_rows[corrections:corrections + thumbs_down]]
    return Streams(healthy=healthy, drifted=degraded + math, feedback=feedback)


@dataclass
class DemoResult:
    drift_detected: bool
    trigger_reason: str | None
    execution_status: str | None
    promoted_version: int | None
    production_version: int | None
    gate: dict[str, Any] | None
    baseline_quality: float | None
    current_quality: float | None
    delta: float | None
    check: dict[str, Any]
    states: list[str]
    report_path: str | None
    elapsed_seconds: float
    canary: dict[str, Any] | None = None  # the canary's final look: decision, n per arm, p-value, CI

    def summary(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("drift_detected", "trigger_reason", "baseline_quality",
                                             "current_quality", "delta", "execution_status", "promoted_version",
                                             "production_version", "gate", "canary", "report_path",
                                             "elapsed_seconds")} | {
            # The drift check's decay split (concept vs data drift) and each field's effect sizes.
            "decay_decomposition": self.check.get("decay_decomposition"),
            "divergences": {field: report.get("divergences") for field, report in self.check.get("drift", {}).items()}}


class Narrator:
    """What the demo tells the terminal; the CLI gives a rich implementation, tests a silent one."""

    def step(self, text: str) -> None: ...
    def detail(self, text: str) -> None: ...
    def progress(self, label: str, total: int) -> Callable[[int], None]:
        return lambda advance: None
    def state(self, name: str, seconds: float) -> None: ...
    def finish(self, stack: Any, result: DemoResult) -> None: ...


def replay(stack: Any, records: list[dict[str, Any]], advance: Callable[[int], None]) -> tuple[int, int]:
    accepted = duplicates = 0
    for start in range(0, len(records), BATCH):
        response = stack.api("POST", "/v1/interactions", {"interactions": records[start:start + BATCH]})
        if response.status != 200:
            raise RuntimeError(f"ingest failed: {response.status} {response.body[:300]}")
        accepted += response.json()["accepted"]
        duplicates += response.json()["duplicates"]
        advance(len(records[start:start + BATCH]))
    return accepted, duplicates


def run_demo(narrator: Narrator | None = None, out_dir: Path | None = None) -> DemoResult:
    from driftgate.local import local_stack
    from driftgate.local.profile import local_training_context
    from finetune.base_model import baseline_records, build_tiny_base

    narrator = narrator or Narrator()
    # moto's interpreter logs every exception it evaluates, including the expected one of an
    # IsPresent test on a missing path; the narrative reports failures itself.
    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
    # Routes that record no metric make Powertools warn at flush; not news to a demo viewer.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # "Loading weights" bars would cut into the narrative
    started = time.monotonic()
    narrator.step("Preparing the local base model (a tiny Llama-shaped LM pretrained on healthy answers; cached)")
    base = build_tiny_base(tiny_base_cache(), baseline_records(data_dir()))
    narrator.detail(f"base model: {base}")
    context = local_training_context(base, **{"driftgate:monitored_models": [MODEL], **CANARY})
    evaluation = context["driftgate:evaluation_hyperparameters"]  # answer as the evaluation job generates
    answer = production_answers(base, max_new_tokens=int(evaluation["max_new_tokens"]),
                                max_length=int(evaluation["max_length"]),
                                progress=narrator.progress("maths answers", MATH_N))
    streams = build_streams(answer, math_n=MATH_N)
    narrator.detail(f"its answers to {MATH_N} GSM8K maths questions, for the drifted stream (e.g. "
                    f"{streams.drifted[-1]['output']!r})")
    narrator.step("Deploying the CDK stack into moto (synthesized template, real handlers)")
    with local_stack(context=context) as stack:
        narrator.step(f"Replaying a healthy stream: {len(streams.healthy)} Mixtral-8x7B answers "
                      f"({'+'.join(HEALTHY_SETS)} prompts, scored against GPT-4-turbo's answers) through "
                      "POST /v1/interactions")
        accepted, _ = replay(stack, streams.healthy, narrator.progress("healthy", len(streams.healthy)))
        baseline = stack.api("POST", f"/v1/models/{MODEL}/baseline").json()["baseline"]
        narrator.detail(f"{accepted} accepted; baseline frozen: n={baseline['n']}, "
                        f"mean quality {baseline['mean_quality']:.3f}")

        narrator.step(f"Replaying a drifted, degraded stream: {len(streams.drifted)} records (alpaca-7b on other "
                      "prompt sets; GSM8K maths questions answered by the local production model, scored against "
                      "the worked solutions) and feedback on some")
        accepted, _ = replay(stack, streams.drifted, narrator.progress("drifted", len(streams.drifted)))
        for item in streams.feedback:
            stack.api("POST", "/v1/feedback", item)
        current = stack.api("GET", f"/v1/models/{MODEL}/quality").json()
        before, now = current["baseline"]["mean_quality"], current["current"]["mean_quality"]
        corrections = sum("correction" in f for f in streams.feedback)
        narrator.detail(f"{accepted} accepted, {len(streams.feedback)} feedback ({corrections} "
                        f"corrections); window mean quality {now:.3f} vs baseline {before:.3f} "
                        f"(ΔM = {before:.3f} − {now:.3f} = {current['delta']:.3f})")

        narrator.step("The EventBridge schedule fires the drift check")
        (check,) = stack.fire_schedule()[0]["checks"]
        for name, report in check["drift"].items():
            narrator.detail(f"{name} drift: {report.get('drift')} (p = {report.get('p_value')}, "
                            f"MMD² = {report.get('statistic')}, "
                            f"n = {report.get('n_baseline')}/{report.get('n_current')})")
        narrator.detail(f"quality: baseline mean {check['baseline_quality']:.3f}, window mean "
                        f"{check['current_quality']:.3f}, ΔM = {check['delta']:.3f}")
        if split := check.get("decay_decomposition"):
            narrator.detail(f"ΔM over the sampled scored records {split['delta']:.3f} = mix (prompt topics moving, "
                            f"data drift) {split['mix']:+.3f} + within (quality within a topic, concept drift) "
                            f"{split['within']:+.3f}")
        narrator.detail(f"decision: {check['status']} — {'; '.join(check['reasons']) or 'no breach'}")

        result_states: list[str] = []
        execution = None
        if check.get("execution_arn"):
            narrator.step("The retrain state machine runs (Step Functions in moto; SageMaker jobs as local processes)")
            t0 = time.monotonic()

            def on_state(name: str) -> None:
                result_states.append(name)
                narrator.state(name, time.monotonic() - t0)

            with ThreadPoolExecutor(1) as pool:
                waiting = pool.submit(stack.wait, check["execution_arn"], timeout_s=1200, on_state=on_state)
                if canary := _staged(stack, waiting):
                    narrator.step(f"Canary: version {canary['version']} is staging; the serving route sends "
                                  f"{float(canary['share']):.0%} of units to it. A live stream through the API, each "
                                  f"unit's arm from GET /v1/models/{MODEL}/adapters/serving (answers replayed: "
                                  f"staging as {HEALTHY_GENERATOR}, production as {DEGRADED_GENERATOR})")
                    traffic = live_canary.replay(stack, MODEL, staging=HEALTHY_GENERATOR,
                                                 production=DEGRADED_GENERATOR, indices=range(805),
                                                 prefix="demo-canary", stop=waiting.done)
                    narrator.detail(f"{sum(len(q) for q in traffic.quality.values())} interactions sent while the "
                                    "run looked at the canary")
                execution = waiting.result()
        production = stack.api("GET", f"/v1/models/{MODEL}/adapters/production")
        output = (execution.output if execution else None) or {}
        report_path = _write_report(stack, out_dir)
        result = DemoResult(
            drift_detected=any(r.get("drift") for r in check["drift"].values()),
            trigger_reason=_trigger(check),
            execution_status=execution.status if execution else None,
            promoted_version=(output.get("promoted") or {}).get("version"),
            production_version=production.json()["version"] if production.status == 200 else None,
            gate=output.get("gate"),
            baseline_quality=check.get("baseline_quality"),
            current_quality=check.get("current_quality"),
            delta=check.get("delta"),
            check=check,
            states=result_states,
            report_path=str(report_path) if report_path else None,
            elapsed_seconds=round(time.monotonic() - started, 1),
            canary=_canary_summary(output.get("canary")),
        )
        narrator.finish(stack, result)
    return result


def _staged(stack: Any, waiting: Future[Any]) -> dict[str, Any] | None:
    """The canary the run starts, once it runs (None if the run ends first: the gate rejected).
    Read from the table: the run's handlers hold the local functions meanwhile."""
    import boto3

    from driftgate.local.deployment import REGION

    table = boto3.resource("dynamodb", region_name=REGION).Table(stack.find("AWS::DynamoDB::Table", "StorageState"))
    while not waiting.done():
        items = table.query(KeyConditionExpression="pk = :pk AND begins_with(sk, :c)", ConsistentRead=True,
                            ExpressionAttributeValues={":pk": f"MODEL#{MODEL}", ":c": "CANARY#"})["Items"]
        if running := [i for i in items if i["status"] == "running"]:
            return running[-1]
        time.sleep(0.5)
    return None


def _canary_summary(look: dict[str, Any] | None) -> dict[str, Any] | None:
    if not look:
        return None
    return {k: look[k] for k in ("decision", "version", "control_version", "n_control", "n_treatment", "mean_control",
                                 "mean_treatment", "p_value", "ci", "looks", "reason")}


def _trigger(check: dict[str, Any]) -> str | None:
    if check["status"] not in ("breach-started", "breach-suppressed"):
        return None
    return "; ".join(check["reasons"])


def _write_report(stack: Any, out_dir: Path | None) -> Path | None:
    """The HTML report of the model, and the data it was made from (for ``driftgate report --data``)."""
    try:
        from driftgate.report import collect_report_data, write_report
    except ImportError:  # the report package is optional for the loop itself
        return None
    from functions.common.repositories import repositories

    with stack.environment("ApiHandler"):
        data = collect_report_data(repositories().state, MODEL)
    target = out_dir or state_dir() / "demo"
    target.mkdir(parents=True, exist_ok=True)
    (target / "report-data.json").write_text(json.dumps(data, default=str))
    return write_report(data, target)
