"""Ingest: scores every record and stores each ``request_id`` once, with the end-user id as its
keyed hash (``functions.interactions.pseudonyms``). Apart from the rest of the interactions
service so that only the API function's code reaches the HMAC key's setting."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from functions.common.contract import settings
from functions.common.repositories import utc_now
from functions.gate.config import gate_config
from functions.gate.decision import GateConfig
from functions.interactions.models import (
    USER_ID_KEY,
    IngestRequest,
    IngestResponse,
    InteractionIn,
    RecordResult,
)
from functions.interactions.pseudonyms import user_id_key
from functions.interactions.store import NewInteraction, interaction_store
from functions.interactions.windows import window_start
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
        candidates.append(_new_interaction(_pseudonymized(record), report, moment, received_at, hours, gate))
    return candidates, reports


def _pseudonymized(record: InteractionIn) -> InteractionIn:
    """The record with ``metadata.user_id`` replaced by its keyed hash: what the item, its index
    key and the raw line store (functions/interactions/pseudonyms.py)."""
    if not record.metadata or USER_ID_KEY not in record.metadata:
        return record
    hashed = user_id_key().pseudonym(str(record.metadata[USER_ID_KEY]))
    return record.model_copy(update={"metadata": {**record.metadata, USER_ID_KEY: hashed}})


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
        # Indexed (by-user) so an erasure finds the user's records: the id's keyed hash (a string).
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
