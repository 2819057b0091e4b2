"""Aggregation windows: which window an interaction falls in, and a window's statistics."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from functions.common.contract import WINDOW_PREFIX, window_sk

__all__ = ["FLAG_PREFIX", "stats", "window_sk", "window_start"]

FLAG_PREFIX = "flag_"


def window_start(moment: datetime, window_hours: int) -> str:
    """Windows are aligned to the epoch, so every writer agrees on the boundaries."""
    seconds = window_hours * 3600
    epoch = int(moment.timestamp()) // seconds * seconds
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat()


def stats(item: dict[str, Any]) -> dict[str, Any]:
    """The public view of a window (or baseline) aggregate item."""
    n = int(item.get("n", 0))
    with_reference = int(item.get("n_reference", 0))
    feedback_n = int(item.get("feedback_n", 0))
    return {
        "start": item.get("start", item.get("sk", "").removeprefix(WINDOW_PREFIX)),
        "n": n,
        "mean_quality": float(item["sum_quality"]) / n if n else None,
        "exact_match_rate": float(item.get("sum_exact_match", 0)) / with_reference if with_reference else None,
        "n_with_reference": with_reference,
        "flag_rates": {k.removeprefix(FLAG_PREFIX): int(v) / n for k, v in sorted(item.items())
                       if k.startswith(FLAG_PREFIX) and n},
        "feedback_n": feedback_n,
        "mean_feedback": float(item.get("sum_feedback", 0)) / feedback_n if feedback_n else None,
    }
