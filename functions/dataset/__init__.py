"""Training sets from interaction records: select, scrub PII, dedupe, split (``build``), read from
JSON Lines files (``inputs``). Run by PrepareDataset in Lambda and by ``driftgate finetune``; the
SageMaker jobs in ``finetune/`` read the files it writes."""
from functions.dataset.build import MANIFEST_SCHEMA, DataConfig, build_training_set
from functions.dataset.inputs import DataError

__all__ = ["DataConfig", "DataError", "MANIFEST_SCHEMA", "build_training_set"]
