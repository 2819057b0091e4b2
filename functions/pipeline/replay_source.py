"""Where PrepareDataset's replay records come from (warm start, ``REPLAY_FRACTION`` > 0): the
model's frozen baseline sample, the interactions the production model was last judged healthy
on (``functions.dataset.replay`` says how many are replayed and which are never).

The sample's entries name raw objects; an erasure scrubs the user's entries from the sample and
their lines from the objects, and ``write_source`` drops tombstoned records as well, so erased
records are never replayed. Records whose raw text has expired are not replayed either: replay
keeps no text longer than its retention."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from functions.common.contract import BASELINE_RESERVOIR_SK, model_pk, settings
from functions.common.repositories import repositories
from functions.dataset.replay import Replay
from functions.dataset.stored import write_source
from functions.interactions.raw import JsonLinesObjects
from functions.interactions.sample import stored_sample


def baseline_records(model: str) -> list[dict[str, Any]]:
    """The raw records of the model's frozen baseline sample (none without a baseline)."""
    repos = repositories()
    item = repos.state.get(model_pk(model), BASELINE_RESERVOIR_SK)
    wanted: dict[str, set[str]] = defaultdict(set)
    for entry in stored_sample(item).entries if item else []:
        wanted[entry["raw_key"]].add(entry["request_id"])
    objects = JsonLinesObjects(repos.s3, settings.raw_bucket)
    return [line for key in sorted(wanted) for line in objects.read(key)[0] if line["request_id"] in wanted[key]]


def golden_ids(model: str) -> frozenset[str]:
    """The row ids of the model's frozen golden set (where PrepareDataset froze it), none before."""
    lines, _ = JsonLinesObjects(repositories().s3, settings.artifacts_bucket).read(f"golden/{model}/golden.jsonl")
    return frozenset(str(line["id"]) for line in lines)


def baseline_replay(model: str, workdir: Path) -> Replay | None:
    """The replay of the model's next training set, or None when replay is off."""
    if not settings.replay_fraction:
        return None
    source = workdir / "replay.jsonl"
    write_source(iter(baseline_records(model)), source)
    return Replay(source=source, fraction=settings.replay_fraction, exclude_ids=golden_ids(model))
