"""Handler settings from the environment, read when called (never at import) so that tests and the
local mode can set the environment after the module is loaded."""
from __future__ import annotations

import os

from functions.common.exceptions import ConfigurationError


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ConfigurationError(f"environment variable {name} is not set")
    return value


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))
