"""Which records of two windows answer the same prompt: the pairing the paired test conditions on.

A record's key is the SHA-256 of its prompt with whitespace collapsed (the prompt itself need not
be kept). The k-th occurrence of a key in the baseline pairs with its k-th occurrence in the
current window, so a prompt asked three times before and twice now gives two pairs.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence

import numpy as np


def prompt_key(prompt: str) -> str:
    return hashlib.sha256(" ".join(prompt.split()).encode("utf-8")).hexdigest()


def match_pairs(baseline: Sequence[str], current: Sequence[str]) -> np.ndarray:
    """``(m, 2)`` int array of (baseline row, current row) with equal keys, in baseline order."""
    waiting: dict[str, list[int]] = defaultdict(list)
    for row, key in enumerate(current):
        waiting[key].append(row)
    pairs = []
    for row, key in enumerate(baseline):
        rows = waiting.get(key)
        if rows:
            pairs.append((row, rows.pop(0)))
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)
