"""One model's scheduled check: the current window against the frozen baseline.

Quality decay compares mean quality (exact window aggregates for ΔM; the windows' reservoir
samples for the Welch companion p-value). Embedding drift runs the calibrated two-sample test
(``functions.drift``) on the reservoir samples of prompts and of outputs, each at alpha/2 so the
two reports together keep the false-alarm rate at alpha; the baseline's embeddings are stored
once (``baseline_vectors``), so a check embeds only the current window. A breach starts the
retrain pipeline through the model's trigger (one run at a time, cooldown)."""
from __future__ import annotations

from typing import Any, Literal, cast

from pydantic import BaseModel

from functions.common.contract import (
    BASELINE_RESERVOIR_SK,
    BASELINE_SK,
    drift_sk,
    model_pk,
    settings,
)
from functions.common.exceptions import ConflictError
from functions.common.repositories import Repositories, repositories, utc_now
from functions.drift import (
    MIN_SAMPLES,
    DriftInputError,
    DriftReport,
    Embedder,
    compare_windows,
    quality_decay,
    window_from_records,
)
from functions.drift.decomposition import with_decomposition
from functions.drift.report import Field
from functions.interactions import shards
from functions.interactions.sample import stored_sample
from functions.monitor.baseline_vectors import StoredBaseline
from functions.monitor.policy import retrain_decision
from functions.monitor.sample_texts import baseline_texts, window_texts
from functions.monitor.trigger import start_retrain

FIELDS = ("prompt", "output")  # a plain literal: tests/infra/test_monitoring.py reads it


class CheckResult(BaseModel):
    model: str
    status: Literal["no-baseline", "no-window", "insufficient-samples", "healthy", "breach-started",
                    "breach-suppressed"]
    window: str | None = None
    baseline_quality: float | None = None
    current_quality: float | None = None
    delta: float | None = None
    n: int = 0
    decay: dict[str, Any] | None = None
    drift: dict[str, dict[str, Any]] = {}
    # ΔM split into the prompt mix moving and quality falling within a topic (the prompt report's).
    decay_decomposition: dict[str, Any] | None = None
    # Sampled records whose raw text had expired (raw_text_retention_days), left out of the comparison.
    texts_expired: dict[Literal["baseline", "current"], int] = {}
    reasons: list[str] = []
    execution_arn: str | None = None
    policy: Literal["threshold", "periodic"] | None = None  # the retrain policy that started (or asked for) a run
    detail: str = ""


def _quality(records: list[dict[str, Any]]) -> list[float]:
    return [float(r["scores"]["quality"]) for r in records if r.get("scores", {}).get("quality") is not None]


def drift_report(repos: Repositories, model: str, base_records: list[dict[str, Any]],
                 current_records: list[dict[str, Any]], field: str, embedder: Embedder, alpha: float) -> DriftReport:
    """``functions.drift.detect_drift`` with the baseline's stored vectors: the same windows, the
    same test and seed, so the same decision and p-values given the same embeddings."""
    for name, window in (("baseline", base_records), ("current", current_records)):
        if len(window) < MIN_SAMPLES:  # before embedding anything, as detect_drift does
            raise DriftInputError(f"the {name} window has {len(window)} records; at least {MIN_SAMPLES} are needed")
    name = cast(Field, field)
    baseline = window_from_records(base_records, name, StoredBaseline(embedder, repos.s3, model, field))
    current = window_from_records(current_records, name, embedder)
    report = compare_windows(baseline, current, name, alpha=alpha, embedder_name=embedder.name)
    if name == "prompt":  # the decay splits over the prompts' topics: their mix moving is data drift
        report = with_decomposition(report, baseline, current, base_records, current_records)
    return report


def check_model(model: str, embedder: Embedder | None = None) -> CheckResult:
    repos = repositories()
    pk = model_pk(model)
    baseline = repos.state.get(pk, BASELINE_SK)
    if not baseline:
        return CheckResult(model=model, status="no-baseline", detail="no baseline frozen yet")
    windows = [w for w in shards.windows(repos.state, model, newest_first=True, limit=2)
               if w["sk"] != baseline["window_sk"]]
    if not windows:
        return CheckResult(model=model, status="no-window", detail="no window newer than the baseline")
    window = windows[0]
    n = int(window.get("n", 0))
    baseline_quality = float(baseline["sum_quality"]) / max(int(baseline["n"]), 1)
    current_quality = float(window["sum_quality"]) / max(n, 1)
    delta = baseline_quality - current_quality
    result = CheckResult(model=model, status="healthy", window=window["start"], n=n,
                         baseline_quality=baseline_quality, current_quality=current_quality, delta=delta)
    min_samples = settings.min_window_samples
    if n < min_samples:
        return result.model_copy(update={"status": "insufficient-samples"})

    base_sample = repos.state.get(pk, BASELINE_RESERVOIR_SK)
    base = baseline_texts(repos, model, stored_sample(base_sample).entries if base_sample else [])
    current = window_texts(repos, shards.sample_index().window_sample(model, window["start"]).entries)
    base_records, current_records = base.records, current.records
    result.texts_expired = {"baseline": base.expired, "current": current.expired}
    threshold = settings.quality_decay_threshold
    alpha = settings.drift_alpha
    decay = quality_decay(_quality(base_records), _quality(current_records), threshold=threshold,
                          min_samples=min(min_samples, 30))
    result.decay = decay.model_dump(mode="json")
    reasons = [f"quality decay: ΔM = {delta:.3f} > {threshold}"] if delta > threshold else []
    if embedder is None:
        from functions.drift import default_embedder

        embedder = default_embedder()
    for field in FIELDS:
        try:
            report = drift_report(repos, model, base_records, current_records, field, embedder, alpha / len(FIELDS))
        except DriftInputError as error:
            result.drift[field] = {"error": str(error)}
            continue
        result.drift[field] = report.model_dump(mode="json")
        repos.state.put({"pk": pk, "sk": drift_sk(window["start"], field), "window": window["start"],
                         "field": field, "checked_at": utc_now(), "report": result.drift[field]})
        if report.drift:
            reasons.append(f"{field} drift: p = {report.p_value:.4g} < {alpha / len(FIELDS):.3g}")
    result.decay_decomposition = result.drift.get("prompt", {}).get("decay_decomposition")
    breach = ("quality_decay" if delta > threshold else "drift") if reasons else None
    decision = retrain_decision(repos, model, baseline, breach)  # the retrain policy's call
    result.reasons = reasons + ([decision.reason] if decision and decision.reason else [])
    if decision is None:
        return result
    result.policy, trigger = decision.policy, decision.trigger
    summary = {"window": window["start"], "reasons": result.reasons, "policy": decision.policy, "delta": result.delta,
               "baseline_quality": result.baseline_quality, "current_quality": result.current_quality,
               "p_values": {f: r.get("p_value") for f, r in result.drift.items()}}
    try:
        arn = start_retrain(repos, model, trigger, summary)
    except ConflictError as busy:
        return result.model_copy(update={"status": "breach-suppressed", "detail": busy.message})
    return result.model_copy(update={"status": "breach-started", "execution_arn": arn})
