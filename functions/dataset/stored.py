"""Stored interactions as training records: the dataset window's date partitions, and the raw
records streamed to a JSON Lines file a chunk at a time with erased ones dropped and feedback
joined (what PrepareDataset feeds ``build_training_set``)."""
from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from functions.interactions.store import interaction_store

CHUNK = 500  # records per erasure/feedback lookup while streaming to disk


def training_record(record: dict[str, Any], feedback: dict[str, Any] | None) -> dict[str, Any]:
    """A raw interaction in the shape ``functions.dataset`` reads; feedback is reduced to its sign
    (our 0..1 score: at least 0.5 is positive) plus the correction."""
    kept = ("request_id", "prompt", "output", "reference", "model", "scores", "metadata")
    out: dict[str, Any] = {key: record[key] for key in kept if key in record}
    if feedback:
        out["feedback"] = {"rating": 1 if float(feedback.get("score", 0)) >= 0.5 else -1,
                           "correction": feedback.get("correction")}
    return out


def window_days(days: list[str], window: int) -> list[str]:
    """The date partitions within ``window`` days of the newest one (days are ISO dates)."""
    if not days:
        return []
    since = (date.fromisoformat(days[-1]) - timedelta(days=window - 1)).isoformat()
    return [day for day in days if day >= since]


def write_source(records: Iterable[dict[str, Any]], path: Path) -> int:
    """Writes the training records to ``path`` a chunk at a time (bounded memory): erased records
    dropped, feedback joined. Returns how many were written."""
    store = interaction_store()
    written = 0
    with path.open("w", encoding="utf-8") as out:
        while chunk := list(islice(records, CHUNK)):
            ids = [r["request_id"] for r in chunk]
            # An erasure that stopped between its steps may leave a tombstoned record's raw line behind.
            erased = {rid for rid, stored in store.lookup(ids).items() if stored.erased}
            kept = [r for r in chunk if r["request_id"] not in erased]
            feedback = store.feedback_of([r["request_id"] for r in kept])
            out.writelines(json.dumps(training_record(r, feedback.get(r["request_id"]))) + "\n" for r in kept)
            written += len(kept)
    return written
