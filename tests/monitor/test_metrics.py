"""emit() stays silent when metrics are disabled. What the drift check emits, and that the alarms
watch exactly those metrics, is tested through its handler in test_scheduled_check.py."""
from __future__ import annotations


def test_metrics_stay_silent_when_disabled(monkeypatch, capsys) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    from functions.common.metrics import emit

    emit("QualityDelta", 0.3, model="support-bot")
    assert capsys.readouterr().out == ""
