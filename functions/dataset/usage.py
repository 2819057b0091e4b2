"""Which training sets used each interaction (the right to explanation, guide §8.2).

PrepareDataset marks every stored record that became a row of its train or eval split (and of the
golden set, when the run froze it) on the record's own item: ``training_sets``, a string set of
``<run_id>:<split>``. ``GET /v1/interactions/{request_id}/explanation`` reads it back and joins
each run to the adapter version it registered (the registry records the run's execution ARN,
whose last part is the run id).

On the item, not in a list beside each dataset: an erasure replaces the item by a tombstone,
which takes the marks with it (nothing else to scrub); an explanation reads them with the GetItem
it does anyway; and the size grows with the runs that used one record (a few dozen bytes each),
not with a dataset. Each update is conditional on a live item, so a record erased while the
dataset was built is neither brought back nor marked.
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from functions.common.clients import client, region
from functions.common.contract import settings
from functions.dataset.build import row_id

TRAINING_SETS = "training_sets"  # the interaction item's attribute
SPLIT_FILES = {"train": "train.jsonl", "eval": "eval.jsonl"}
GOLDEN = "golden"
# UpdateItem takes one item: a few concurrent calls keep a dataset of thousands within seconds.
MARKERS = 16


def dataset_prefix(model: str, run_id: str) -> str:
    """Where PrepareDataset writes a run's training set in the artifacts bucket."""
    return f"datasets/{model}/{run_id}"


def training_set_mark(run_id: str, split: str) -> str:
    # Execution names never hold ":" (Step Functions refuses them), so the last ":" splits.
    return f"{run_id}:{split}"


def parse_mark(mark: str) -> tuple[str, str]:
    run_id, _, split = mark.rpartition(":")
    return run_id, split


def row_splits(out_dir: Path, *, golden: bool) -> dict[str, set[str]]:
    """Each row id of the built set and the splits it is in (eval rows are the golden set too
    when this run froze it)."""
    splits: dict[str, set[str]] = defaultdict(set)
    for split, name in SPLIT_FILES.items():
        with (out_dir / name).open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    splits[json.loads(line)["id"]].update({split, GOLDEN} if golden and split == "eval" else {split})
    return splits


def record_splits(source: Path, rows: dict[str, set[str]]) -> dict[str, set[str]]:
    """Each request id the rows came from, with the splits its row is in: a row id may be the
    digest of a source record's request id that holds PII (``row_id``), and a row that no source
    record made (a replayed older one) has its own id, which only matches if it is stored."""
    found: dict[str, set[str]] = {}
    matched: set[str] = set()
    with source.open(encoding="utf-8") as handle:
        for line in handle:
            request_id = json.loads(line)["request_id"]
            for candidate in (request_id, row_id(request_id)):
                if candidate in rows:
                    found[request_id] = rows[candidate]
                    matched.add(candidate)
                    break
    found.update({rid: splits for rid, splits in rows.items() if rid not in matched and rid not in found})
    return found


class TrainingMarks:
    """The ``training_sets`` attribute of interaction items."""

    def __init__(self, *, dynamodb: Any, table: str) -> None:
        self.dynamodb = dynamodb
        self.table = table

    def _mark(self, request_id: str, marks: Iterable[str]) -> bool:
        try:
            self.dynamodb.update_item(
                TableName=self.table, Key={"request_id": {"S": request_id}},
                UpdateExpression="ADD #sets :marks",
                ConditionExpression="attribute_exists(request_id) AND attribute_not_exists(erased_at)",
                ExpressionAttributeNames={"#sets": TRAINING_SETS},
                ExpressionAttributeValues={":marks": {"SS": sorted(marks)}})
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False  # erased meanwhile
        return True

    def mark(self, run_id: str, records: dict[str, set[str]]) -> int:
        """Adds ``run_id``'s splits to each record's item; returns how many live items it marked.
        Adding to a set is idempotent: a retried PrepareDataset marks the same."""
        with ThreadPoolExecutor(max_workers=MARKERS) as pool:
            marked = pool.map(lambda item: self._mark(item[0], (training_set_mark(run_id, s) for s in item[1])),
                              sorted(records.items()))
            return sum(marked)


def record_training_use(source: Path, out_dir: Path, run_id: str, *, golden: bool) -> int:
    """Marks the records of ``source`` that became rows of the set built in ``out_dir``."""
    return training_marks().mark(run_id, record_splits(source, row_splits(out_dir, golden=golden)))


@lru_cache(maxsize=8)
def _build(region_name: str | None, table: str) -> TrainingMarks:
    return TrainingMarks(dynamodb=client("dynamodb"), table=table)


def training_marks() -> TrainingMarks:
    return _build(region(), settings.interactions_table)
