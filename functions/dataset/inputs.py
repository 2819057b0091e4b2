"""The dataset builder's inputs: JSON Lines files (or folders of them) of interaction records, read
with each record's place (``file:line``) so that a bad record is reported where it is.

The SageMaker jobs read their channels with ``finetune.formatting``; the two readers stay apart on
purpose: ``functions/`` never imports ``finetune/`` (the Lambda asset ships ``functions/`` alone).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SUFFIXES = (".jsonl", ".json")


class DataError(ValueError):
    """Input records that cannot make a training set. ``field`` names the offending record field
    or setting, so the CLI can point at its flag instead of printing a traceback."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def input_files(path: str | Path) -> list[Path]:
    """``path`` itself, or the JSON Lines files in it, sorted by name."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found", field="data")
    if not path.is_dir():
        return [path]
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in SUFFIXES)
    if not files:
        raise DataError(f"{path}: directory has no .jsonl files", field="data")
    return files


def read_records(path: str | Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """``("file:line", record)`` for every non-blank line of the input."""
    for file in input_files(path):
        with file.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"{file}:{number}"
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{where}: not valid JSON ({exc.msg})", field="data") from None
                if not isinstance(record, dict):
                    raise DataError(f"{where}: expected a JSON object, got {type(record).__name__}", field="data")
                yield where, record


def input_sha256(path: str | Path) -> str:
    """The file's sha256; for a folder, the sha256 of its files' hex digests in name order."""
    digests = []
    for file in input_files(path):
        with file.open("rb") as handle:
            digests.append(hashlib.file_digest(handle, "sha256").hexdigest())
    return digests[0] if len(digests) == 1 else hashlib.sha256("".join(digests).encode()).hexdigest()
