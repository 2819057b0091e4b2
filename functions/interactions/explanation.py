"""The right to explanation (guide §8.2): for one stored interaction, how its quality was
computed, which drift samples it is in, and which training sets and adapter versions used it.

Everything is read back from what the stack stored, never kept apart for this: the breakdown is
recomputed from the raw texts with the scorer pack (``functions.scoring.explain``, the code
ingest ran), the samples are the ones the drift check reads (the sample index, the frozen
baseline's snapshot), and the training sets are the marks PrepareDataset left on the item
(``functions.dataset.usage``), joined to the registry. An unknown or erased interaction is a 404.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from functions.common.contract import (
    BASELINE_RESERVOIR_SK,
    BASELINE_SK,
    DRIFT_FIELDS,
    drift_sk,
    model_pk,
    settings,
)
from functions.common.repositories import repositories
from functions.dataset.usage import TRAINING_SETS, dataset_prefix, parse_mark
from functions.interactions.explanation_models import (
    DriftCheckSeen,
    Explanation,
    QualityExplanation,
    Sampling,
    Split,
    TrainingSetUse,
)
from functions.interactions.sample import UNBOUNDED, rank_of, stored_sample
from functions.interactions.shards import sample_index, shard_count, shard_of
from functions.interactions.store import InteractionStore, interaction_store
from functions.registry.store import registry
from functions.scoring import explain
from functions.scoring.pack import QualityBreakdown

SPLIT_ORDER: tuple[Split, ...] = ("train", "eval", "golden")


def explain_interaction(request_id: str) -> Explanation:
    store = interaction_store()
    item = store.get(request_id)  # NotFoundError when unknown or erased
    quality = _quality(store, item)
    sampling = _sampling(item)
    training = _training(item)
    return Explanation(request_id=request_id, model=item["model"], adapter_version=item.get("adapter_version"),
                       event_time=item["event_time"], summary=summary(quality, sampling, training),
                       quality=quality, sampling=sampling, training=training)


def _raw_line(store: InteractionStore, item: dict[str, Any]) -> dict[str, Any] | None:
    """The record's raw line (its texts), or None once the raw object is gone."""
    if "raw_key" not in item:
        return None
    lines, _etag = store.raw.read(item["raw_key"])
    return next((line for line in lines if line.get("request_id") == item["request_id"]), None)


def _quality(store: InteractionStore, item: dict[str, Any]) -> QualityExplanation:
    stored = float(item["quality"])
    feedback = item.get("feedback") or {}
    common: dict[str, Any] = {
        "quality": stored, "flags": list(item.get("flags") or []),
        "metrics": {s["name"]: float(s["value"]) for s in item.get("scores") or []},
        "feedback_score": float(feedback["score"]) if "score" in feedback else None,
    }
    line = _raw_line(store, item)
    if line is None or not isinstance(line.get("output"), str):
        return QualityExplanation(**common, recomputed=False)
    _report, breakdown = explain(line.get("prompt") or "", line["output"], line.get("reference"),
                                 line.get("expected_format"))
    return QualityExplanation(**common, recomputed=True, matches_stored=abs(breakdown.quality - stored) < 1e-9,
                              breakdown=breakdown)


def _sampling(item: dict[str, Any]) -> Sampling:
    request_id, model, window = item["request_id"], item["model"], item["window"]
    sample = sample_index().window_sample(model, window)
    ids = sample.request_ids()
    state = repositories().state
    checks = [DriftCheckSeen(field=field, checked_at=report["checked_at"], drift=report.get("report", {}).get("drift"))
              for field in DRIFT_FIELDS if (report := state.get(model_pk(model), drift_sk(window, field)))]
    baseline = state.get(model_pk(model), BASELINE_SK)
    snapshot = state.get(model_pk(model), BASELINE_RESERVOIR_SK)
    return Sampling(
        window=window, window_hours=settings.window_hours, shard=shard_of(request_id), shards=shard_count(),
        rank=rank_of(request_id), rank_fraction=rank_of(request_id) / UNBOUNDED,
        in_window_sample=request_id in ids, sample_position=ids.index(request_id) + 1 if request_id in ids else None,
        sample_size=len(ids), sample_capacity=sample.capacity, drift_checks=checks,
        baseline_window=baseline.get("start") if baseline else None,
        in_baseline_sample=snapshot is not None and request_id in stored_sample(snapshot).request_ids(),
    )


def _training(item: dict[str, Any]) -> list[TrainingSetUse]:
    splits: dict[str, set[str]] = defaultdict(set)
    for mark in item.get(TRAINING_SETS) or []:
        run_id, split = parse_mark(mark)
        splits[run_id].add(split)
    if not splits:
        return []
    model = item["model"]
    # The registry records each version's run by its execution ARN, whose last part is the run id.
    versions = {v["execution_arn"].rsplit(":", 1)[-1]: v for v in registry().versions(model) if v.get("execution_arn")}
    production = (registry().alias(model) or {}).get("version")
    uses = []
    for run_id, found in splits.items():
        version = versions.get(run_id)
        uses.append(TrainingSetUse(
            run_id=run_id, splits=[s for s in SPLIT_ORDER if s in found],
            manifest_uri=f"s3://{settings.artifacts_bucket}/{dataset_prefix(model, run_id)}/manifest.json",
            version=version["version"] if version else None,
            gate_decision=(version.get("gate") or {}).get("decision") if version else None,
            in_production=version is not None and version["version"] == production))
    return sorted(uses, key=lambda u: (u.version is None, u.version or 0, u.run_id))


# -- plain language -------------------------------------------------------------------------------
FORMULAS = {
    "answer": "its reference states an answer, so the answer decides and overlap separates near misses",
    "free_form": "its reference is free-form, so overlap with it decides",
    "heuristic": "it has no reference, so only what is wrong with the output is known: 0.5 plus up to 0.5 "
                 "for relevance to the prompt",
    "heuristic_unjudged": "it has no reference and its prompt is too short to judge relevance: base 1",
}


def _breakdown_text(breakdown: QualityBreakdown) -> str:
    terms = " + ".join(f"{t.weight:g} x {t.name} {t.value:.3g}" for t in breakdown.terms)
    text = f"base = {terms} = {breakdown.base:.3f} ({FORMULAS[breakdown.formula]})"
    for penalty in breakdown.penalties:
        text += (f"; flag {penalty.flag} multiplies it by {penalty.factor:g}" if penalty.applied
                 else f"; flag {penalty.flag} is not penalised ({penalty.reason})")
    return text + f"; quality = {breakdown.quality:.3f}"


def _quality_text(quality: QualityExplanation) -> str:
    text = f"Quality {quality.quality:.3f}"
    if quality.breakdown is None:
        text += (f", flags {', '.join(quality.flags) or 'none'}; its texts are no longer kept, so the breakdown "
                 "cannot be recomputed (the stored metrics are listed)")
    else:
        text += ", recomputed from its stored texts with the scorer pack: " + _breakdown_text(quality.breakdown)
        if not quality.matches_stored:
            text += " (differs from the stored quality: the scorer changed since ingest)"
    if quality.feedback_score is not None:
        text += f". Feedback {quality.feedback_score:.2f} is joined to it (it decides training selection, not quality)"
    return text + "."


def _sampling_text(sampling: Sampling) -> str:
    text = (f"It falls in the {sampling.window_hours} h window starting {sampling.window}, ingest shard "
            f"{sampling.shard} of {sampling.shards}, bottom-k rank {sampling.rank_fraction:.4f} of 1: ")
    text += (f"it is in that window's drift sample (position {sampling.sample_position} of {sampling.sample_size}, "
             f"capacity {sampling.sample_capacity})" if sampling.in_window_sample
             else f"it is not in that window's drift sample ({sampling.sample_size} records of smaller rank are)")
    if sampling.drift_checks:
        text += "; drift checks of the window: " + ", ".join(
            f"{c.field} at {c.checked_at} ({'drift' if c.drift else 'no drift'})" for c in sampling.drift_checks)
    if sampling.baseline_window is None:
        text += ". The model has no frozen baseline"
    else:
        text += (f". The frozen baseline (window {sampling.baseline_window}) "
                 f"{'holds' if sampling.in_baseline_sample else 'does not hold'} it in its sample")
    return text + "."


def _training_text(training: list[TrainingSetUse]) -> str:
    if not training:
        return "No training set has used it."
    parts = []
    for use in training:
        part = f"run {use.run_id} ({', '.join(use.splits)})"
        if use.version is None:
            part += ", which registered no adapter version"
        else:
            part += f" → adapter version {use.version} (gate: {use.gate_decision or 'unknown'}" + (
                ", in production now)" if use.in_production else ")")
        parts.append(part)
    return "Training sets that used it: " + "; ".join(parts) + "."


def summary(quality: QualityExplanation, sampling: Sampling, training: list[TrainingSetUse]) -> str:
    return " ".join((_quality_text(quality), _sampling_text(sampling), _training_text(training)))
