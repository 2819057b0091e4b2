"""PrepareDataset reads only the date partitions of its window, many objects at a time, each as
its function's role (the reads run in worker threads; IAM is enforced in the local stack)."""
from __future__ import annotations

import boto3
import pytest

from driftgate.local import local_stack
from driftgate.local.deployment import REGION
from driftgate.testing.realdata import alpaca_records, gsm8k_records, ingest
from functions.dataset.stored import window_days
from tests.local.test_iam_enforced import without_action

MODEL = "window-bot"
# 20 real records on each of six days spread over five weeks.
DAYS = ("2026-10-20", "2026-10-28", "2026-11-05", "2026-11-16", "2026-11-20", "2026-11-21")


def spread_records() -> list[dict]:
    rows = gsm8k_records(60, model=MODEL) + alpaca_records("gpt4_1106_preview", 60, model=MODEL)
    return [{**row, "timestamp": f"{DAYS[i % len(DAYS)]}T12:00:00Z"} for i, row in enumerate(rows)]


def test_the_window_is_counted_back_from_the_newest_day() -> None:
    assert window_days(list(DAYS), 1) == ["2026-11-21"]
    assert window_days(list(DAYS), 6) == ["2026-11-16", "2026-11-20", "2026-11-21"]
    assert window_days(list(DAYS), 30) == list(DAYS[1:])
    assert window_days([], 30) == []


@pytest.mark.parametrize(("window", "expected_days"), [(30, 5), (6, 3), (365, 6)])
def test_only_the_windows_partitions_are_read(synthesized_template, window: int, expected_days: int) -> None:
    # Texts must outlive the dataset window (a shorter retention fails the synth).
    context = {"driftgate:min_training_records": 2, "driftgate:dataset_window_days": window,
               "driftgate:raw_text_retention_days": max(window, 45)}
    with local_stack(context=context) as stack:
        assert ingest(stack, spread_records()) == 120
        s3 = boto3.client("s3", region_name=REGION)
        raw = stack.find("AWS::S3::Bucket", "StorageRaw")
        objects = s3.list_objects_v2(Bucket=raw, Prefix=f"raw/model={MODEL}/")["Contents"]
        assert len(objects) >= len(DAYS) * 2  # several objects per day, so reads overlap

        result = stack.invoke("PrepareDataset", {"model": MODEL, "run_id": f"w{window}"})

    assert result["enough"] is True, result
    assert result["available_records"] == 20 * expected_days
    assert f"of {expected_days} days" in result["message"]


def test_the_parallel_reads_sign_as_the_functions_role(synthesized_template) -> None:
    stripped = without_action(synthesized_template, "PrepareDatasetRole", "s3:GetObject*")
    with local_stack(stripped) as stack:
        assert ingest(stack, spread_records()) == 120
        with pytest.raises(RuntimeError, match=r"PrepareDataset failed: .*AccessDenied.*GetObject"):
            stack.invoke("PrepareDataset", {"model": MODEL, "run_id": "denied"})
