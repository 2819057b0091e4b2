"""Domain errors. Each carries the HTTP status the API maps it to, in one place (api/app.py)."""
from __future__ import annotations


class DriftgateError(Exception):
    """Base class of every error a caller may see; ``status`` is the HTTP status it maps to."""

    status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequestError(DriftgateError):
    status = 400


class NotFoundError(DriftgateError):
    status = 404


class ConflictError(DriftgateError):
    """A conditional write lost a race or the resource is in a state that forbids the change."""

    status = 409


class PayloadTooLargeError(DriftgateError):
    status = 413


class ConfigurationError(DriftgateError):
    """A handler's environment is missing a setting the stack should have given it."""

    status = 500
