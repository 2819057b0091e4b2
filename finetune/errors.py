"""The one error type the finetune package raises for bad input."""
from __future__ import annotations


class FinetuneInputError(ValueError):
    """Bad data, arguments or flags. ``field`` names the offending flag or record field, so the
    CLI can point at it instead of printing a traceback."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
