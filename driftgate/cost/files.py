"""Reads a JSON input file into a pydantic model; every problem is one line naming the file and field."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


class CostInputError(Exception):
    """A bad prices or measurements file: the message names the file and the field."""


def load_json(path: Path, model: type[Model], option: str) -> Model:
    if not path.is_file():
        raise CostInputError(f"{option}: {path}: no such file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CostInputError(f"{option}: {path}: not valid JSON{_where(error)}") from None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = first["msg"].removeprefix("Value error, ")  # a validator's message names its field
        more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
        field = f"field {where}: " if where else ""
        raise CostInputError(f"{option}: {path}: {field}{message}{more}") from None


def _where(error: Exception) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f" at line {error.lineno}, column {error.colno} ({error.msg})"
    return f" ({error})"
