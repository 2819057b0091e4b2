"""Real AlpacaEval files, each scored once per test session (as ingest scores them)."""
from __future__ import annotations

from functools import cache

from driftgate.testing.canary import ScoredFile, score_file


@cache
def scored(generator: str, with_reference: bool = True) -> ScoredFile:
    return score_file(generator, with_reference=with_reference)
