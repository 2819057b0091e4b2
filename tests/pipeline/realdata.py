"""Real interactions from ../shared/data shaped as API records, for pipeline tests and the demo."""
from __future__ import annotations

import json
from itertools import islice

from driftgate.paths import data_dir


def gsm8k_records(n: int, *, start: int = 0, model: str = "support-bot", day: str = "2026-11-20") -> list[dict]:
    """GSM8K questions answered with their worked reference solutions (a correct model)."""
    with open(data_dir() / "gsm8k" / "test.jsonl") as lines:
        rows = [json.loads(line) for line in islice(lines, start, start + n)]
    return [{"request_id": row["id"], "model": model, "prompt": row["prompt"], "output": row["reference"],
             "reference": row["reference"], "timestamp": f"{day}T12:00:00Z"} for row in rows]


def alpaca_records(generator: str, n: int, *, start: int = 0, model: str = "support-bot",
                   day: str = "2026-11-21") -> list[dict]:
    with open(data_dir() / "alpaca_eval" / f"{generator}.jsonl") as lines:
        rows = [json.loads(line) for line in islice(lines, start, start + n)]
    return [{"request_id": row["id"], "model": model, "prompt": row["prompt"], "output": row["output"],
             "metadata": {"prompt_set": row["prompt_set"]}, "timestamp": f"{day}T12:00:00Z"} for row in rows]


def ingest(stack, records: list[dict]) -> int:
    accepted = 0
    for start in range(0, len(records), 100):
        response = stack.api("POST", "/v1/interactions", {"interactions": records[start:start + 100]})
        assert response.status == 200, response.body
        accepted += response.json()["accepted"]
    return accepted
