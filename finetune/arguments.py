"""Dataclass arguments from four layers, weakest first: SageMaker's channel/model-dir
environment, a ``--config`` YAML/JSON file, SageMaker hyperparameters, the command line.
Shared by ``finetune.train`` and ``finetune.evaluate``."""
from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from transformers import HfArgumentParser
from transformers.hf_argparser import DataClassType

from finetune.errors import FinetuneInputError


class ArgumentParser(HfArgumentParser):
    """HfArgumentParser that raises instead of exiting, so callers (tests, the driftgate CLI)
    decide how to report a bad flag. No abbreviations: a mistyped hyperparameter must not
    silently match a longer flag."""

    def __init__(self, dataclass_types: Sequence[type]) -> None:
        super().__init__([DataClassType(t) for t in dataclass_types], allow_abbrev=False)

    def error(self, message: str) -> NoReturn:
        raise FinetuneInputError(message)


def load_config_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FinetuneInputError(f"--config {path}: file not found", field="config")
    text = path.read_text()
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            data = json.loads(text or "{}")
    except Exception as exc:  # yaml and json raise different types; both mean "unreadable"
        raise FinetuneInputError(f"--config {path}: cannot parse ({exc})", field="config") from None
    if not isinstance(data, dict):
        raise FinetuneInputError(f"--config {path}: expected a mapping of flag names to values", field="config")
    return {str(key).replace("-", "_"): value for key, value in data.items()}


def _config_path(argv: Sequence[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg == "--config" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
    return None


def parse_layers(
    dataclass_types: Sequence[type],
    argv: Sequence[str] | None = None,
    *,
    env_defaults: Mapping[str, Any] | None = None,
    hyperparameter_argv: Sequence[str] = (),
) -> tuple[Any, ...]:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = ArgumentParser(dataclass_types)
    known = {action.dest for action in parser._actions}
    defaults = {k: v for k, v in (env_defaults or {}).items() if v is not None}
    config_path = _config_path(argv) or _config_path(list(hyperparameter_argv))
    if config_path:
        config = load_config_file(config_path)
        unknown = sorted(set(config) - known)
        if unknown:
            raise FinetuneInputError(f"--config {config_path}: unknown keys {unknown}", field="config")
        defaults.update(config)
    parser.set_defaults(**defaults)
    try:
        *parsed, remaining = parser.parse_args_into_dataclasses(
            args=[*hyperparameter_argv, *argv], look_for_args_file=False, return_remaining_strings=True
        )
    except FinetuneInputError:
        raise
    except ValueError as exc:  # dataclass __post_init__ checks (e.g. TrainingArguments bf16 + fp16)
        raise FinetuneInputError(str(exc)) from None
    if remaining:
        raise FinetuneInputError(f"unrecognized arguments: {' '.join(remaining)}")
    return tuple(parsed)


def setup_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stdout, force=True
    )


def run_cli(entry, argv: Sequence[str] | None = None) -> int:
    """Run ``entry(argv)`` as a process: bad input is one ``error:`` line and exit status 2."""
    setup_logging()
    try:
        entry(argv)
    except FinetuneInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
