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

import shutil
import tempfile
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.common.contract import settings
from functions.dataset import DataConfig, DataError, build_training_set
from functions.dataset.stored import window_days, write_source
from functions.dataset.usage import dataset_prefix, record_training_use
from functions.gate.config import gate_config
from functions.pipeline.artifacts import artifact_store
from functions.pipeline.models import (
    Champion,
    DatasetCounts,
    DatasetManifest,
    DatasetReady,
    NotEnoughData,
    PrepareDatasetInput,
)
from functions.pipeline.replay_source import baseline_replay
from functions.registry.store import registry

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    run = PrepareDatasetInput.model_validate(event)
    return prepare(run, str(run.run_id or getattr(context, "aws_request_id", "run"))).model_dump(mode="json")


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
        expired: list[str] = []  # raw objects whose text retention ran out between listing and reading
        available = write_source(artifacts.raw_records(run.model, days, expired=expired), source)
        counted = dict(DatasetCounts(model=run.model, available_records=available,
                                     required_records=config.min_records, champion=champion,
                                     expired_objects=len(expired)))
        try:
            replay = baseline_replay(run.model, workdir) if available else None  # warm start's replay share
            manifest = build_training_set([source], workdir / "out", config, replay) if available else None
        except DataError as error:
            logger.info("not enough data", extra={"model": run.model, "reason": str(error)})
            return NotEnoughData(**counted, enough=False, message=f"{run.model}: {error}")
        if manifest is None:
            return NotEnoughData(**counted, enough=False, message=f"{run.model}: no interactions stored")
        prefix = dataset_prefix(run.model, run_id)
        golden_key = f"golden/{run.model}/golden.jsonl"
        freezes_golden = not artifacts.exists(golden_key)  # frozen on the first run, reused afterwards
        if freezes_golden:
            artifacts.upload_file(workdir / "out" / "eval.jsonl", golden_key)
        ready = DatasetReady(
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
        # After the uploads: a mark names a set that exists (a retry marks the same again).
        marked = record_training_use(source, workdir / "out", run_id, golden=freezes_golden)
        logger.info("marked the records the set used", extra={"model": run.model, "records": marked})
        return ready
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
