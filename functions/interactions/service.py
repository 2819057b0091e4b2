"""What the API does with stored interactions: join feedback, report quality, freeze baselines
(ingest is ``functions.interactions.ingest``)."""
from __future__ import annotations

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
from functions.interactions import shards
from functions.interactions.models import (
    FeedbackIn,
    FeedbackOut,
    QualityOut,
    WindowStats,
)
from functions.interactions.store import interaction_store
from functions.interactions.windows import stats


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
