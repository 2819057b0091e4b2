"""The retraining settings (retrain_policy, retrain_every_days, warm_start, replay_fraction): the
synth refuses values out of their limits, and the default stack hands the handlers today's
behaviour (threshold policy, no replay). The warm-start state machine runs in
tests/pipeline/test_warm_start.py, the policies in tests/monitor/test_retrain_policy.py."""
from __future__ import annotations

import pytest

from infra.settings import Settings


@pytest.mark.parametrize(("values", "message"), [
    ({"retrain_policy": "weekly"}, "retrain_policy must be 'threshold', 'periodic' or 'both'"),
    ({"retrain_every_days": 0}, "retrain_every_days must be in 1..365, got 0"),
    ({"retrain_every_days": 366}, "retrain_every_days must be in 1..365, got 366"),
    ({"replay_fraction": 0.95}, r"replay_fraction must be in \[0, 0.9\], got 0.95"),
    ({"replay_fraction": -0.1}, r"replay_fraction must be in \[0, 0.9\]"),
])
def test_out_of_range_retraining_settings_fail_the_synth(values: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings(**values)


def test_retraining_defaults_are_todays_behaviour() -> None:
    settings = Settings()
    assert (settings.retrain_policy, settings.retrain_every_days, settings.warm_start) == ("threshold", 7, False)
    assert Settings(retrain_policy="both", retrain_every_days=365, replay_fraction=0.9).replay_fraction == 0.9


def test_the_default_stack_passes_the_policy_to_the_check_and_no_replay_to_the_dataset(template) -> None:
    functions = template.find_resources("AWS::Lambda::Function")
    env = {f["Properties"]["Handler"]: f["Properties"]["Environment"]["Variables"] for f in functions.values()
           if "Environment" in f["Properties"]}
    check = env["functions.monitor.drift_check.lambda_handler"]
    assert check["RETRAIN_POLICY"] == "threshold" and check["RETRAIN_EVERY_DAYS"] == "7"
    # Replay is part of warm start: off with it.
    assert env["functions.pipeline.prepare_dataset.lambda_handler"]["REPLAY_FRACTION"] == "0.0"
