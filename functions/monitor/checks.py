"""One model's scheduled check: quality decay of the current window against the frozen baseline."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from functions.common.exceptions import ConflictError
from functions.common.repositories import repositories
from functions.common.settings import env_float, env_int
from functions.monitor.trigger import start_retrain


class CheckResult(BaseModel):
    model: str
    status: Literal["no-baseline", "no-window", "insufficient-samples", "healthy", "breach-started", "breach-suppressed"]
    baseline_quality: float | None = None
    current_quality: float | None = None
    delta: float | None = None
    n: int = 0
    execution_arn: str | None = None
    detail: str = ""


def check_model(model: str) -> CheckResult:
    repos = repositories()
    baseline = repos.state.get(f"MODEL#{model}", "BASELINE")
    if not baseline:
        return CheckResult(model=model, status="no-baseline", detail="no baseline frozen yet")
    windows = repos.state.query(f"MODEL#{model}", "WINDOW#", newest_first=True, limit=1)
    if not windows:
        return CheckResult(model=model, status="no-window")
    window = windows[0]
    n = int(window.get("n", 0))
    if n < env_int("MIN_WINDOW_SAMPLES", 50):
        return CheckResult(model=model, status="insufficient-samples", n=n)
    base_mean = float(baseline["sum_quality"]) / max(int(baseline["n"]), 1)
    current_mean = float(window["sum_quality"]) / n
    delta = base_mean - current_mean
    result = CheckResult(model=model, status="healthy", baseline_quality=base_mean, current_quality=current_mean,
                         delta=delta, n=n)
    if delta <= env_float("QUALITY_DECAY_THRESHOLD", 0.1):
        return result
    try:
        arn = start_retrain(repos, model, "quality_decay", result.model_dump())
    except ConflictError as busy:
        return result.model_copy(update={"status": "breach-suppressed", "detail": busy.message})
    return result.model_copy(update={"status": "breach-started", "execution_arn": arn})
