"""A run the scheduled check started keeps the breach that started it: ΔM with the baseline and
window means it is the difference of, which the HTML report shows beside the run."""
from __future__ import annotations

from itertools import pairwise

import pytest

from driftgate.local import local_stack
from driftgate.testing.realdata import gsm8k_records, ingest

MODEL = "support-bot"


@pytest.mark.slow
def test_the_run_record_and_the_report_show_the_breach_with_both_means() -> None:
    from driftgate.report import collect_report_data, render_report
    from functions.common.repositories import repositories

    # Too few training records on purpose: the run ends quickly on the SKIPPED branch.
    with local_stack(context={"driftgate:min_training_records": 100000}) as stack:
        ingest(stack, gsm8k_records(60, model=MODEL, day="2026-11-20"))
        stack.api("POST", f"/v1/models/{MODEL}/baseline")
        # Then each question is answered with the next one's worked solution: every answer wrong.
        later = gsm8k_records(61, start=60, model=MODEL, day="2026-11-21")
        ingest(stack, [{**r, "output": after["output"]} for r, after in pairwise(later)])
        (check,) = stack.fire_schedule()[0]["checks"]
        assert check["status"] == "breach-started" and check["delta"] > 0.1, check
        assert stack.wait(check["execution_arn"]).status == "SUCCEEDED"
        with stack.environment("ApiHandler"):
            data = collect_report_data(repositories().state, MODEL)

    (run,) = data["runs"]
    assert run["reason"] == "quality_decay"
    assert {k: run["trigger"][k] for k in ("delta", "baseline_quality", "current_quality")} == pytest.approx(
        {k: check[k] for k in ("delta", "baseline_quality", "current_quality")})
    assert run["trigger"]["reasons"] == check["reasons"]
    assert (f"quality_decay: ΔM = {check['delta']:.3f} (baseline {check['baseline_quality']:.3f} → window "
            f"{check['current_quality']:.3f})") in render_report(data)
