"""What the API does with interactions: score and store them once, join feedback, report quality."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from functions.common.contract import (
    BASELINE_INDEX_PK,
    BASELINE_RESERVOIR_SK,
    BASELINE_SK,
    DRIFT_PREFIX,
    baseline_index_sk,
    model_pk,
    settings,
)
from functions.common.exceptions import BadRequestError, NotFoundError
from functions.common.repositories import repositories, utc_now
from functions.gate.config import gate_config
from functions.gate.decision import GateConfig
from functions.interactions import shards
from functions.interactions.models import (
    USER_ID_KEY,
    FeedbackIn,
    FeedbackOut,
    IngestRequest,
    IngestResponse,
    InteractionIn,
    QualityOut,
    RecordResult,
    WindowStats,
)
from functions.interactions.store import NewInteraction, interaction_store
from functions.interactions.windows import stats, window_start
from functions.scoring import ScoreReport, score


def score_batch(request: IngestRequest) -> tuple[list[NewInteraction], list[ScoreReport]]:
    """Scores every record; returns the records to store (a request id repeated inside the batch
    only once: the first) and each record's score report, in request order (a repeated id with
    other content is answered with its own scores, not the stored copy's)."""
    received_at = utc_now()
    hours = settings.window_hours
    gate = gate_config()  # the protected attribute whose groups each version's aggregates count
    seen: set[str] = set()
    candidates: list[NewInteraction] = []
    reports: list[ScoreReport] = []
    for record in request.interactions:
        report = score(record.prompt, record.output, record.reference, record.expected_format)
        reports.append(report)
        if record.request_id in seen:
            continue
        seen.add(record.request_id)
        moment = record.timestamp or datetime.now(UTC)
        candidates.append(_new_interaction(record, report, moment, received_at, hours, gate))
    return candidates, reports


def ingest(request: IngestRequest) -> IngestResponse:
    store = interaction_store()
    candidates, reports = score_batch(request)
    # Stored ones (erased ones' tombstones too) are duplicates, and never written to S3 again.
    stored = store.lookup([c.request_id for c in candidates])
    fresh = [c for c in candidates if c.request_id not in stored]
    inserted: set[str] = set()
    if fresh:
        # Raw first: if the DynamoDB write then fails, a retry merges into the same S3 object.
        raw_keys = store.write_raw(candidates, stored)
        inserted = store.insert(fresh, raw_keys)
        store.settle_raw(raw_keys, [c.request_id for c in fresh if c.request_id not in inserted])

    results, counted = [], set()
    for record, report in zip(request.interactions, reports, strict=True):
        status: Literal["accepted", "duplicate"] = (
            "accepted" if record.request_id in inserted and record.request_id not in counted else "duplicate")
        counted.add(record.request_id)
        results.append(RecordResult(request_id=record.request_id, status=status, exact_match=report.exact_match,
                                    token_f1=report.token_f1, rouge_l=report.rouge_l, quality=report.quality,
                                    flags=report.flags))
    accepted = sum(r.status == "accepted" for r in results)
    return IngestResponse(accepted=accepted, duplicates=len(results) - accepted, results=results)


def _new_interaction(record: InteractionIn, report: ScoreReport, moment: datetime, received_at: str,
                     hours: int, gate: GateConfig) -> NewInteraction:
    window = window_start(moment, hours)
    event_time = moment.astimezone(UTC).isoformat()
    scores = report.to_dict()
    item = {
        "request_id": record.request_id, "model": record.model, "adapter_version": record.adapter_version,
        "event_time": event_time, "received_at": received_at, "window": window,
        "quality": report.quality, "exact_match": report.exact_match, "token_f1": report.token_f1,
        "rouge_l": report.rouge_l, "flags": report.flags, "scores": scores["scores"],
        "metadata": record.metadata or {},
        # Indexed (by-user) so an erasure finds the user's records; a string, as the index key is.
        "user_id": str(record.metadata[USER_ID_KEY]) if record.metadata and USER_ID_KEY in record.metadata else None,
    }
    raw = {**record.model_dump(mode="json", exclude_none=True), "event_time": event_time,
           "received_at": received_at, "window": window, "scores": scores}
    return NewInteraction(request_id=record.request_id, model=record.model, window=window,
                          item={k: v for k, v in item.items() if v is not None}, raw=raw,
                          quality=report.quality, exact_match=report.exact_match, flags=tuple(report.flags),
                          day=moment.astimezone(UTC).date().isoformat(), adapter_version=record.adapter_version,
                          group=_group(record, gate.protected_attribute), good=report.quality >= gate.good_quality)


def _group(record: InteractionIn, attribute: str | None) -> str | None:
    if not attribute or not record.metadata or attribute not in record.metadata:
        return None
    return str(record.metadata[attribute])


def feedback_score(feedback: FeedbackIn) -> float:
    """Feedback on one scale in [0, 1]: thumbs (-1 → 0, 1 → 1) or stars (1..5 → 0..1)."""
    scale = feedback.scale or ("thumbs" if feedback.rating in (-1, 1) else "stars")
    if scale == "thumbs":
        if feedback.rating not in (-1, 1):
            raise BadRequestError(f"rating: thumbs feedback must be -1 or 1, got {feedback.rating}")
        return 1.0 if feedback.rating == 1 else 0.0
    if not 1 <= feedback.rating <= 5:
        raise BadRequestError(f"rating: star feedback must be 1..5, got {feedback.rating}")
    return (feedback.rating - 1) / 4


def add_feedback(feedback: FeedbackIn) -> FeedbackOut:
    value = feedback_score(feedback)
    stored = {**feedback.model_dump(exclude_none=True), "score": value, "received_at": utc_now()}
    stored.pop("request_id")
    record, first = interaction_store().add_feedback(feedback.request_id, stored, value)
    return FeedbackOut(request_id=feedback.request_id, model=record["model"], feedback_score=value,
                       first_feedback=first)


def quality(model: str) -> QualityOut:
    state = repositories().state
    windows = shards.windows(state, model, newest_first=True, limit=1)
    baseline = state.get(model_pk(model), BASELINE_SK)
    if not windows and not baseline:
        raise NotFoundError(f"no interactions stored for model {model!r}")
    current = WindowStats(**stats(windows[0])) if windows else None
    base = WindowStats(**stats(baseline)) if baseline else None
    delta = None
    if current and base and current.mean_quality is not None and base.mean_quality is not None:
        delta = base.mean_quality - current.mean_quality
    return QualityOut(model=model, window_hours=settings.window_hours, current=current, baseline=base,
                      baseline_adapter_version=baseline.get("adapter_version") if baseline else None, delta=delta)


def freeze_baseline(model: str, window: str | None = None, adapter_version: int | None = None) -> QualityOut:
    """Freezes a window (default: the latest) as the model's baseline, with the adapter it served."""
    state = repositories().state
    if window:
        item = shards.window(state, model, window)
    else:
        latest = shards.windows(state, model, newest_first=True, limit=1)
        item = latest[0] if latest else None
    if not item:
        raise NotFoundError(f"no window {window or '(latest)'} for model {model!r}")
    frozen_at = utc_now()
    # The index item first: the scheduled check finds models through it, and one found before its
    # baseline is written is answered "no-baseline", while a baseline never indexed is never checked.
    state.put({"pk": BASELINE_INDEX_PK, "sk": baseline_index_sk(model), "model": model, "window": item["start"],
               "frozen_at": frozen_at})
    state.put({**item, "sk": BASELINE_SK, "window_sk": item["sk"], "adapter_version": adapter_version,
               "frozen_at": frozen_at})
    # The drift check compares against the baseline's own sample (its shards merged), frozen with it.
    sample = shards.sample_index().window_sample(model, item["start"])
    if sample.entries:
        state.put({"pk": model_pk(model), "sk": BASELINE_RESERVOIR_SK, "window": item["start"], "model": model,
                   "sample": sample.to_json(), "frozen_at": frozen_at})
    return quality(model)


def latest_drift(model: str) -> dict:
    """The newest drift report of each field (prompt, output) the scheduled check stored."""
    items = repositories().state.query(model_pk(model), DRIFT_PREFIX, newest_first=True, limit=20)
    reports: dict[str, dict] = {}
    for item in items:
        reports.setdefault(item["field"], {"window": item["window"], "checked_at": item["checked_at"],
                                           **item["report"]})
    if not reports:
        raise NotFoundError(f"no drift report for model {model!r} yet")
    return {"model": model, "reports": reports}
