"""A canary's live traffic on the local stack, for tests (and the demo): AlpacaEval instructions,
each asked by its own unit (a user), the serving route choosing which adapter answers it, the answer
taken from that arm's file of real answers, and the record ingested through the API with the
version that served it as ``adapter_version``. Each record keeps its ``reference`` (GPT-4-turbo's
answer), so both arms are scored against a third model's answer, never against themselves."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from driftgate.testing.canary import alpaca_path

BATCH = 20


@cache
def answers(generator: str) -> dict[int, dict[str, Any]]:
    """The file's records by instruction index (the number after ``:`` in ``id``)."""
    with alpaca_path(generator).open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    return {int(row["id"].rsplit(":", 1)[1]): row for row in rows}


@dataclass
class Traffic:
    """What was sent: the versions each arm (``production`` / ``staging``) reported, and by version
    the quality of each record the API accepted."""

    versions: dict[str, set[int]] = field(default_factory=lambda: {"production": set(), "staging": set()})
    quality: dict[int, list[float]] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)  # unit → arm
    duplicates: int = 0  # records the API had stored already (not counted again)

    def n(self, version: int) -> int:
        return len(self.quality.get(version, []))


def replay(stack: Any, model: str, *, staging: str, production: str, indices: Iterable[int], prefix: str,
           stop: Callable[[], bool] | None = None, batch: int = BATCH) -> Traffic:
    """Sends the instructions ``indices`` in batches until ``stop()`` says so (checked before each
    batch) or they run out; ``staging`` and ``production`` name the AlpacaEval file each arm answers from."""
    files = {"staging": answers(staging), "production": answers(production)}
    traffic = Traffic()
    todo = list(indices)
    for start in range(0, len(todo), batch):
        if stop and stop():
            break
        records, served = [], []
        for index in todo[start:start + batch]:
            unit = f"{prefix}-user-{index:03d}"
            serving = stack.api("GET", f"/v1/models/{model}/adapters/serving", query={"unit": unit})
            assert serving.status == 200, serving.body
            arm, version = serving.json()["arm"], serving.json()["version"]
            row = files[arm][index]
            records.append({"request_id": f"{prefix}:{index:03d}", "model": model, "adapter_version": version,
                            "prompt": row["prompt"], "output": row["output"], "reference": row["reference"],
                            "metadata": {"user_id": unit}})
            served.append(version)
            traffic.versions[arm].add(version)
            traffic.units[unit] = arm
        response = stack.api("POST", "/v1/interactions", {"interactions": records})
        assert response.status == 200, response.body
        for version, result in zip(served, response.json()["results"], strict=True):
            if result["status"] == "accepted":
                traffic.quality.setdefault(version, []).append(result["quality"])
            else:
                traffic.duplicates += 1
    return traffic
