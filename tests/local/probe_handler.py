"""A handler for tests/local/test_environment.py: reads its environment twice, some time apart."""
from __future__ import annotations

import os
import time
from typing import Any

PAUSE_S = 0.5


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    first = os.environ.get("POWERTOOLS_SERVICE_NAME")
    time.sleep(PAUSE_S)
    return {"first": first, "second": os.environ.get("POWERTOOLS_SERVICE_NAME")}
