"""PrepareDataset: turns a model's stored interactions into a training set in S3.

Keeps records with good scores, positive feedback or a correction; drops duplicates; scrubs PII;
splits train/eval by a hash of the id (``functions.dataset``). Rows keep the gate's declared
``protected_attribute`` (``GATE_CONFIG``) from each record's metadata, and no other metadata, so
the evaluation can rate outputs by group. The golden set is frozen the first time and reused by
every later run, so regressions are measured on the same examples (a golden set frozen before an
attribute was declared has no groups). Too little data is not an error: the run stops cleanly on
the ``enough: false`` branch.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable
from datetime import date, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.common.contract import settings
from functions.dataset import DataConfig, DataError, build_training_set
from functions.gate.config import gate_config
from functions.interactions.store import interaction_store
from functions.pipeline.artifacts import artifact_store
from functions.pipeline.models import (
    Champion,
    DatasetCounts,
    DatasetManifest,
    DatasetReady,
    NotEnoughData,
    PrepareDatasetInput,
)
from functions.registry.store import registry

logger = Logger()
tracer = Tracer()
CHUNK = 500  # records per erasure/feedback lookup while streaming to disk


def training_record(record: dict[str, Any], feedback: dict[str, Any] | None) -> dict[str, Any]:
    """A raw interaction in the shape ``functions.dataset`` reads; feedback is reduced to its sign
    (our 0..1 score: at least 0.5 is positive) plus the correction."""
    kept = ("request_id", "prompt", "output", "reference", "model", "scores", "metadata")
    out: dict[str, Any] = {key: record[key] for key in kept if key in record}
    if feedback:
        out["feedback"] = {"rating": 1 if float(feedback.get("score", 0)) >= 0.5 else -1,
                           "correction": feedback.get("correction")}
    return out


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    run = PrepareDatasetInput.model_validate(event)
    return prepare(run, str(run.run_id or getattr(context, "aws_request_id", "run"))).model_dump(mode="json")


def window_days(days: list[str], window: int) -> list[str]:
    """The date partitions within ``window`` days of the newest one (days are ISO dates)."""
    if not days:
        return []
    since = (date.fromisoformat(days[-1]) - timedelta(days=window - 1)).isoformat()
    return [day for day in days if day >= since]


def write_source(records: Iterable[dict[str, Any]], path: Path) -> int:
    """Writes the training records to ``path`` a chunk at a time (bounded memory): erased records
    dropped, feedback joined. Returns how many were written."""
    store = interaction_store()
    written = 0
    with path.open("w", encoding="utf-8") as out:
        while chunk := list(islice(records, CHUNK)):
            ids = [r["request_id"] for r in chunk]
            # An erasure that stopped between its steps may leave a tombstoned record's raw line behind.
            erased = {rid for rid, stored in store.lookup(ids).items() if stored.erased}
            kept = [r for r in chunk if r["request_id"] not in erased]
            feedback = store.feedback_of([r["request_id"] for r in kept])
            out.writelines(json.dumps(training_record(r, feedback.get(r["request_id"]))) + "\n" for r in kept)
            written += len(kept)
    return written


def prepare(run: PrepareDatasetInput, run_id: str) -> DatasetReady | NotEnoughData:
    artifacts = artifact_store()
    days = window_days(artifacts.raw_days(run.model), settings.dataset_window_days)
    protected = gate_config().protected_attribute
    config = DataConfig(min_quality=settings.min_training_quality,
                        min_records=max(2, settings.min_training_records),
                        protected_attributes=(protected,) if protected else ())
    production = registry().alias(run.model, "production")
    champion = Champion(version=production["version"], s3_uri=production["s3_uri"]) if production else None
    workdir = Path(tempfile.mkdtemp(prefix="dataset-"))
    try:
        source = workdir / "interactions.jsonl"
        available = write_source(artifacts.raw_records(run.model, days), source)
        counted = dict(DatasetCounts(model=run.model, available_records=available,
                                     required_records=config.min_records, champion=champion))
        try:
            manifest = build_training_set([source], workdir / "out", config) if available else None
        except DataError as error:
            logger.info("not enough data", extra={"model": run.model, "reason": str(error)})
            return NotEnoughData(**counted, enough=False, message=f"{run.model}: {error}")
        if manifest is None:
            return NotEnoughData(**counted, enough=False, message=f"{run.model}: no interactions stored")
        prefix = f"datasets/{run.model}/{run_id}"
        golden_key = f"golden/{run.model}/golden.jsonl"
        if not artifacts.exists(golden_key):  # frozen on the first run, reused afterwards
            artifacts.upload_file(workdir / "out" / "eval.jsonl", golden_key)
        return DatasetReady(
            **counted,
            enough=True,
            train_uri=artifacts.upload_file(workdir / "out" / "train.jsonl", f"{prefix}/train/train.jsonl")
            .rsplit("/", 1)[0] + "/",
            eval_uri=artifacts.upload_file(workdir / "out" / "eval.jsonl", f"{prefix}/eval/eval.jsonl")
            .rsplit("/", 1)[0] + "/",
            golden_uri=f"s3://{artifacts.artifacts_bucket}/golden/{run.model}/",
            manifest_uri=artifacts.upload_file(workdir / "out" / "manifest.json", f"{prefix}/manifest.json"),
            manifest=DatasetManifest(counts=manifest["counts"], sha256=manifest["sha256"]),
            message=f"{run.model}: dataset of {manifest.get('counts', {})} from {available} interactions"
                    f" of {len(days)} days",
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
