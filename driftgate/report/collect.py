"""Reads one model's history from the state table into a JSON-ready snapshot for the report.

The snapshot is the contract between reading and rendering: ``driftgate report --data`` renders
a saved one, so keep additions backwards compatible (the renderer tolerates missing keys)."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from driftgate.report.canary import collect_canaries
from functions.common.contract import (
    BASELINE_SK,
    DRIFT_PREFIX,
    RUN_PREFIX,
    VERSION_PREFIX,
    WINDOW_PREFIX,
    alias_history_prefix,
    alias_sk,
    model_pk,
)
from functions.common.repositories import StateRepository
from functions.interactions import shards
from functions.interactions.windows import stats

SCHEMA = 1
_KEYS = ("pk", "sk", "task_token")  # storage keys, and the approval token (a credential)


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in _KEYS}


def _baseline(item: dict[str, Any] | None) -> dict[str, Any] | None:
    if not item:
        return None
    window = str(item.get("window_sk", "")).removeprefix(WINDOW_PREFIX) or item.get("start")
    return {**stats(item), "start": window, "adapter_version": item.get("adapter_version"),
            "frozen_at": item.get("frozen_at")}


def _drift(item: dict[str, Any]) -> dict[str, Any]:
    """``DRIFT#<window start>#<field>``; the report is a map (the scheduled check) or a JSON string."""
    _, window, field = (item["sk"].split("#", 2) + ["", ""])[:3]
    report = item.get("report") or {}
    if isinstance(report, str):
        report = json.loads(report)
    return {"window": item.get("window", window), "field": item.get("field", field),
            "checked_at": item.get("checked_at"), "report": report}


def _run(item: dict[str, Any]) -> dict[str, Any]:
    """``RUN#<recorded at>#<execution name>``: the time and name live in the key only."""
    _, recorded_at, name = (item["sk"].split("#", 2) + ["", ""])[:3]
    return {"recorded_at": recorded_at, "execution_name": name, **_public(item)}


def collect_report_data(state: StateRepository, model: str, *, generated_at: str | None = None) -> dict[str, Any]:
    """Everything the report shows about ``model``, oldest first; missing parts are empty."""
    pk = model_pk(model)
    production = state.get(pk, alias_sk("production"))
    data = {
        "schema": SCHEMA,
        "model": model,
        "generated_at": generated_at or datetime.now(UTC).isoformat(timespec="seconds"),
        "source": {"table": getattr(state.table, "name", None)},
        "baseline": _baseline(state.get(pk, BASELINE_SK)),
        "windows": [stats(item) for item in shards.windows(state, model)],
        "drift": sorted((_drift(item) for item in state.query(pk, DRIFT_PREFIX)),
                        key=lambda d: (str(d["window"]), str(d["field"]))),
        "runs": [_run(item) for item in state.query(pk, RUN_PREFIX)],
        "versions": [_public(item) for item in state.query(pk, VERSION_PREFIX)],
        "production": _public(production) if production else None,
        "alias_history": [_public(item) for item in state.query(pk, alias_history_prefix("production"))],
        "canaries": collect_canaries(state, model),
    }
    # DynamoDB numbers are already int/float here; the round trip catches anything else (sets, bytes).
    return json.loads(json.dumps(data, default=str))
