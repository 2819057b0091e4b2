"""bench_drift's tally of what the report names on the family's alarms (issue #18, point 4)."""
from __future__ import annotations

from benchmarks.drift_report import named_on_alarms


def test_only_alarms_are_counted_and_an_alarm_that_names_no_member_counts_as_none():
    results = [
        dict(ours=True, named=["local", "digits"]),
        dict(ours=True, named=["local"]),
        dict(ours=True, named=[]),
        dict(ours=False, named=["mmd"]),  # a member moved but the family did not alarm: not counted
    ]
    assert named_on_alarms(results) == {"local": 2, "digits": 1, "none": 1}
    assert list(named_on_alarms(results))[0] == "local"  # most named first
