"""A bounded uniform random sample of a stream (Vitter's Algorithm R), resumable from storage.

The ingest Lambda keeps one reservoir per window: the drift check's cost stays bounded however
much traffic arrives. Its whole state is the kept items, the count seen and the seed (a
JSON-ready dict for DynamoDB or S3). No random-generator state needs saving: the draw for the
i-th item is a hash of (seed, i), so a reservoir restored from storage continues exactly as
an uninterrupted one would, and every invocation is reproducible.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_MASK64 = (1 << 64) - 1


def _splitmix64(value: int) -> int:
    """A well-mixed 64-bit hash (SplitMix64 finaliser): uniform enough for index draws."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


def draw_index(seed: int, position: int) -> int:
    """Uniform integer in [0, position] for the item at 0-based ``position`` of the stream.

    The modulo bias is below position / 2**64: nothing at any window size.
    """
    return _splitmix64(_splitmix64(seed & _MASK64) ^ position) % (position + 1)


class Reservoir(Generic[T]):
    """Keeps at most ``capacity`` items, each item seen so far kept with equal probability."""

    def __init__(self, capacity: int, seed: int = 0, items: list[T] | None = None, seen: int = 0) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        items = list(items or [])
        if len(items) != min(seen, capacity):
            raise ValueError(f"a reservoir that has seen {seen} items keeps {min(seen, capacity)}, not {len(items)}")
        self.capacity = capacity
        self.seed = seed
        self.items = items
        self.seen = seen

    def add(self, item: T) -> bool:
        """Offer one item; True when it was kept."""
        position = self.seen
        self.seen += 1
        if position < self.capacity:
            self.items.append(item)
            return True
        slot = draw_index(self.seed, position)
        if slot < self.capacity:
            self.items[slot] = item
            return True
        return False

    def extend(self, items: Iterable[T]) -> None:
        for item in items:
            self.add(item)

    def to_state(self) -> dict[str, Any]:
        """JSON-ready state: ``{"capacity", "seed", "seen", "items"}``."""
        return {"capacity": self.capacity, "seed": self.seed, "seen": self.seen, "items": list(self.items)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Reservoir[Any]:
        return cls(capacity=state["capacity"], seed=state["seed"], items=state["items"], seen=state["seen"])

    def __len__(self) -> int:
        return len(self.items)
