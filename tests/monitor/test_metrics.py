"""The drift check's EMF metrics carry the dimensions the alarms select on (model, field)."""
from __future__ import annotations

import json


def test_drift_metrics_are_emf_with_model_and_field(monkeypatch, capsys) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Driftgate")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "driftgate")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    from functions.common.metrics import emit

    emit("DriftPValue", 0.004, model="support-bot", field="prompt")
    (line,) = [json.loads(out) for out in capsys.readouterr().out.splitlines() if out.startswith("{")]
    directive = line["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "Driftgate"
    assert set(directive["Dimensions"][0]) == {"service", "model", "field"}
    assert line["DriftPValue"] == [0.004] and line["model"] == "support-bot" and line["field"] == "prompt"


def test_metrics_stay_silent_when_disabled(monkeypatch, capsys) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    from functions.common.metrics import emit

    emit("QualityDelta", 0.3, model="support-bot")
    assert capsys.readouterr().out == ""
