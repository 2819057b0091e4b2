"""Taking erased records out of a stored reservoir sample without biasing it.

A full reservoir of capacity C that has seen n items is a uniform C-subset of those n. Remove
the k erased stream items, j of which were sampled: the C - j kept items are a uniform
(C - j)-subset of the n - k items left. Stored as a reservoir of capacity C - j that has seen
n - k, Algorithm R then goes on uniform (it only shrinks by the j samples erased). A reservoir
that is not full keeps every item it saw, so only ``seen`` drops.

The seed changes too: with ``seen`` lowered, the old seed would replay the draws (a hash of seed
and position) that placed the kept items, and new items would replace the latest old ones far
too often. A reservoir with none of the erased records among its samples is left as it is: its
``seen`` overcounts by k (the rest of that window is sampled k/n less), so that an erasure run
again after a failure never subtracts twice.
"""
from __future__ import annotations

import hashlib
from typing import Any

from functions.drift.reservoir import Reservoir


def without(state: dict[str, Any], request_ids: set[str], erased_in_stream: int) -> tuple[dict[str, Any] | None, int]:
    """``state`` (``Reservoir.to_state()``) without the items of ``request_ids``, given that
    ``erased_in_stream`` of the items it saw are erased; returns (new state or None when no
    sample is left, samples removed)."""
    kept = [item for item in state["items"] if item["request_id"] not in request_ids]
    removed = len(state["items"]) - len(kept)
    if not removed:
        return state, 0
    if not kept:
        return None, removed
    seen = max(state["seen"] - erased_in_stream, len(kept))
    capacity = state["capacity"] if seen <= len(kept) else len(kept)
    seed = int(hashlib.sha256(f"{state['seed']}:{state['seen']}:{removed}".encode()).hexdigest()[:8], 16)
    return Reservoir(capacity, seed=seed, items=kept, seen=seen).to_state(), removed
