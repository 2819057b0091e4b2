"""collect_report_data: every item kind of the state table, JSON-ready, nothing private."""
from __future__ import annotations

import json

from driftgate.report import collect_report_data
from tests.report.sample import DAYS, MODEL, day


def test_every_item_kind_is_collected(sample_data) -> None:
    assert sample_data["model"] == MODEL
    assert [w["start"] for w in sample_data["windows"]] == [day(n) for n in range(DAYS)]
    assert sample_data["baseline"]["start"] == day(1) and sample_data["baseline"]["adapter_version"] == 1
    assert len(sample_data["drift"]) == 2 * (DAYS - 2)
    first = sample_data["drift"][0]
    assert (first["window"], first["field"]) == (day(2), "output")
    assert isinstance(first["report"], dict) and first["report"]["clusters"][0]["examples"]
    assert [r["status"] for r in sample_data["runs"]] == [
        "SKIPPED", "FAILED", "REJECTED", "PROMOTED", "REJECTED_BY_REVIEWER"]
    assert sample_data["runs"][2]["execution_name"] == "run-8-4"
    assert sample_data["runs"][2]["recorded_at"].startswith("2026-11-09T")
    assert [v["version"] for v in sample_data["versions"]] == [1, 2, 3, 4]
    assert sample_data["production"]["version"] == 3
    assert [h["reason"] for h in sample_data["alias_history"]] == ["initial adapter", "promote", "rollback", "promote"]


def test_snapshot_is_json_and_has_no_storage_keys(sample_data) -> None:
    text = json.dumps(sample_data)
    assert json.loads(text) == sample_data
    for key in ('"pk"', '"sk"', '"task_token"'):
        assert key not in text


def test_report_stored_as_a_json_string_is_read_too(state) -> None:
    report = {"drift": True, "p_value": 0.01, "alpha": 0.05, "clusters": []}
    state.put({"pk": "MODEL#m", "sk": "DRIFT#2026-11-01T00:00:00+00:00#prompt", "report": json.dumps(report)})
    (check,) = collect_report_data(state, "m")["drift"]
    assert check == {"window": "2026-11-01T00:00:00+00:00", "field": "prompt", "checked_at": None, "report": report}


def test_fresh_model_collects_empty(state) -> None:
    data = collect_report_data(state, "fresh", generated_at="2026-11-01T00:00:00+00:00")
    assert data["baseline"] is None and data["production"] is None
    assert all(data[k] == [] for k in ("windows", "drift", "runs", "versions", "alias_history"))
