"""Real AlpacaEval interactions and one cached MiniLM embedder (the drift check's ONNX one) for the
drift tests."""
from __future__ import annotations

import json
from functools import cache

import numpy as np
import pytest

from driftgate.paths import data_dir, embedding_cache, embedding_model
from functions.drift import Embedder, default_embedder

MIXTRAL = "Mixtral-8x7B-Instruct-v0.1"


@cache
def load(name: str) -> tuple[dict, ...]:
    """All records of ``alpaca_eval/<name>.jsonl`` (805, index-aligned across files)."""
    path = data_dir() / "alpaca_eval" / f"{name}.jsonl"
    with path.open(encoding="utf-8") as handle:
        return tuple(json.loads(line) for line in handle)


def draw(records, n: int, seed: int, exclude: set[int] = frozenset()) -> list[dict]:
    """``n`` records drawn without replacement (fixed seed), skipping indices in ``exclude``."""
    pool = [i for i in range(len(records)) if i not in exclude]
    keep = np.random.default_rng(seed).choice(len(pool), size=n, replace=False)
    return [records[pool[i]] for i in sorted(keep)]


def prompt_windows(n: int = 100) -> tuple[list[dict], list[dict]]:
    """Prompt drift: ``n`` records of helpful_base+oasst vs ``n`` of koala+vicuna+selfinstruct."""
    gpt4 = load("gpt4_1106_preview")
    old = [r for r in gpt4 if r["prompt_set"] in {"helpful_base", "oasst"}]
    new = [r for r in gpt4 if r["prompt_set"] in {"koala", "vicuna", "selfinstruct"}]
    return draw(old, n, seed=21), draw(new, n, seed=22)


def index(record: dict) -> int:
    return int(record["id"].rsplit(":", 1)[1])


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The drift check's ONNX MiniLM behind the on-disk cache in ``embedding_cache()``: each text
    embeds once across runs, the model loads once per session."""
    return default_embedder(embedding_cache(), model_dir=embedding_model())
