"""When the scheduled check starts a retrain: the model's retrain policy (``RETRAIN_POLICY``).

- ``threshold``: a breach, quality decay ΔM over its threshold or embedding drift (the default);
- ``periodic``: every ``RETRAIN_EVERY_DAYS``, whatever the drift: due when the model's last run
  started that long ago, or, when none ever ran, when its baseline was frozen that long ago (a
  baseline just frozen is the state production was last judged healthy in; retraining on the
  spot would train on the data the baseline was just taken from);
- ``both``: either; a breach names ``threshold``, the more informative of the two.

Only the decision lives here: the run itself starts through ``trigger.start_retrain``, so the
single-flight guard and the cooldown hold for every policy. The period is read from the guard's
``started_at`` (written by each claim: manual runs reset it too), so it is measured between runs
that actually started, not between checks.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from functions.common.contract import settings
from functions.common.repositories import Repositories
from functions.monitor.run_guard import guard_key, now

Fired = Literal["threshold", "periodic"]
POLICIES = ("threshold", "periodic", "both")


@dataclass(frozen=True)
class Decision:
    policy: Fired
    trigger: str  # the execution input's ``reason``: quality_decay | drift | periodic
    reason: str | None = None  # the line the check adds to its reasons (periodic only)


def decide(policy: str, *, breach: str | None, last_start: datetime | None, baseline_frozen: datetime,
           at: datetime, every_days: float) -> Decision | None:
    """The run the policy asks for, or None. ``breach``: the threshold trigger, when one fired."""
    if policy not in POLICIES:
        raise ValueError(f"retrain policy must be one of {', '.join(POLICIES)}, got {policy!r}")
    if breach and policy in ("threshold", "both"):
        return Decision("threshold", breach)
    if policy == "threshold":
        return None
    since, what = (last_start, "last run started") if last_start else (baseline_frozen, "baseline frozen")
    age = at - since
    if age < timedelta(days=every_days):
        return None
    return Decision("periodic", "periodic",
                    f"periodic: {what} {age.total_seconds() / 86400:.1f} days ago >= every {every_days:g} days")


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def retrain_decision(repos: Repositories, model: str, baseline: dict[str, Any],
                     breach: str | None) -> Decision | None:
    """``decide`` for a model, with its last run's start (its guard) and its baseline item's freeze."""
    policy, at = settings.retrain_policy, now()
    # Under "threshold" the guard is not read: today's behaviour costs what it did.
    guard = (repos.state.get(**guard_key(model)) or {}) if policy != "threshold" else {}
    return decide(policy, breach=breach, last_start=_time(guard.get("started_at")),
                  baseline_frozen=_time(baseline.get("frozen_at")) or at, at=at,
                  every_days=settings.retrain_every_days)
