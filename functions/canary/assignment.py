"""Which arm serves a unit (a user or session id) during a canary: a hash, not a coin, so every
request of a unit lands on the same arm for the whole canary, on any Lambda, with no state."""
from __future__ import annotations

import hashlib
from typing import Literal

Arm = Literal["control", "treatment"]
CONTROL: Arm = "control"  # production
TREATMENT: Arm = "treatment"  # staging
# 64 bits of the digest as a uniform number in [0, 1): bias ~1e-19, far below any share.
_SCALE = float(2**64)


def bucket(model: str, unit: str, canary_id: str) -> float:
    """A uniform number in [0, 1) fixed by (model, unit, canary id); a new canary id reshuffles
    the units, so one canary's arm does not carry over to the next."""
    # NUL separators: ("a", "bc") and ("ab", "c") must not hash alike.
    digest = hashlib.sha256(f"{model}\x00{unit}\x00{canary_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def assign(model: str, unit: str, canary_id: str, share: float) -> Arm:
    """``treatment`` (staging) for a ``share`` of units, ``control`` (production) for the rest."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be in [0, 1], got {share}")
    return TREATMENT if bucket(model, unit, canary_id) < share else CONTROL
