"""The SageMaker training-container contract, read from the environment.

SageMaker mounts each input channel at ``/opt/ml/input/data/<channel>`` and names it in
``SM_CHANNEL_<NAME>``, writes hyperparameters to ``/opt/ml/input/config/hyperparameters.json``
(every value a string; framework estimators JSON-encode them, so ``"\\"Qwen/Qwen2\\""``), uploads
``SM_MODEL_DIR`` as model.tar.gz, and syncs ``/opt/ml/checkpoints`` with S3 when the job has a
checkpoint config. ``SM_BASE_DIR`` moves the ``/opt/ml`` root (tests, local containers).
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finetune.errors import FinetuneInputError

DEFAULT_BASE_DIR = "/opt/ml"


@dataclass(frozen=True)
class SageMakerEnv:
    base_dir: Path
    channels: dict[str, Path] = field(default_factory=dict)
    model_dir: Path | None = None
    output_data_dir: Path | None = None
    hyperparameters: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def detect(cls, environ: Mapping[str, str] | None = None) -> SageMakerEnv | None:
        """The job's environment, or ``None`` when this is not a SageMaker job."""
        environ = os.environ if environ is None else environ
        base_dir = Path(environ.get("SM_BASE_DIR", DEFAULT_BASE_DIR))
        hp_file = base_dir / "input" / "config" / "hyperparameters.json"
        channels = {
            key[len("SM_CHANNEL_"):].lower(): Path(value)
            for key, value in environ.items()
            if key.startswith("SM_CHANNEL_")
        }
        if not channels and "SM_MODEL_DIR" not in environ and not hp_file.is_file():
            return None
        hyperparameters: dict[str, Any] = {}
        if hp_file.is_file():
            try:
                hyperparameters = json.loads(hp_file.read_text() or "{}")
            except json.JSONDecodeError as exc:
                raise FinetuneInputError(f"{hp_file}: not valid JSON ({exc.msg})", field="hyperparameters") from None
        return cls(
            base_dir=base_dir,
            channels=channels,
            model_dir=Path(environ["SM_MODEL_DIR"]) if environ.get("SM_MODEL_DIR") else None,
            output_data_dir=Path(environ["SM_OUTPUT_DATA_DIR"]) if environ.get("SM_OUTPUT_DATA_DIR") else None,
            hyperparameters=hyperparameters,
        )

    @property
    def checkpoint_dir(self) -> Path | None:
        """``/opt/ml/checkpoints`` when the job was given a checkpoint config (it exists then)."""
        path = self.base_dir / "checkpoints"
        return path if path.is_dir() else None

    def channel(self, name: str) -> str | None:
        path = self.channels.get(name)
        return str(path) if path is not None else None

    def hyperparameter_argv(self) -> list[str]:
        return hyperparameters_to_argv(self.hyperparameters)


def _decode(value: Any) -> Any:
    """SageMaker strings back to values: ``"16"`` stays a string for argparse to convert, a
    JSON-encoded ``"\\"text\\""`` loses its quotes, ``"[\\"a\\", \\"b\\"]"`` becomes a list."""
    if not isinstance(value, str):
        return value
    try:
        decoded = json.loads(value)
    except json.JSONDecodeError:
        return value
    return decoded if isinstance(decoded, (str, list, bool)) else value


def hyperparameters_to_argv(hyperparameters: Mapping[str, Any]) -> list[str]:
    """``{"lora_r": "16", "use_peft": "true"}`` -> ``["--lora_r", "16", "--use_peft", "true"]``.
    SageMaker's own ``sagemaker_*`` entries (program, region, ...) are not ours and are skipped."""
    argv: list[str] = []
    for key, raw in hyperparameters.items():
        if key.startswith("sagemaker_"):
            continue
        value = _decode(raw)
        if isinstance(value, dict):
            raise FinetuneInputError(f"hyperparameter {key!r}: nested objects are not supported", field=key)
        flag = f"--{key}"
        if isinstance(value, list):
            argv += [flag, *map(str, value)]
        elif isinstance(value, bool):
            argv += [flag, "true" if value else "false"]
        else:
            argv += [flag, str(value)]
    return argv
