"""Real data for the scorer-pack tests, loaded (and scored) once per session.

ROUGE-L costs ~30 ms per long AlpacaEval answer, so the reference-based tests score every 4th
instruction (202 of 805, the same instructions for every generator); the full-data numbers come
from ``python benchmarks/bench_scoring.py`` and ``python -m benchmarks.agreement``.
"""
from __future__ import annotations

from functools import cache

from driftgate.paths import data_dir
from driftgate.testing.realdata import load_alpaca_eval, load_jsonl
from functions.scoring import ScoreReport, score

SAMPLE_EVERY = 4
GPT4 = "gpt4_1106_preview"
MIXTRAL = "Mixtral-8x7B-Instruct-v0.1"
CONCISE = "Mixtral-8x7B-Instruct-v0.1_concise"
ALPACA = "alpaca-7b"


@cache
def alpaca(generator: str) -> list[dict]:
    return load_alpaca_eval([generator])


@cache
def gsm8k() -> list[dict]:
    return load_jsonl(data_dir() / "gsm8k" / "test.jsonl")


def instruction(record: dict) -> int:
    return int(record["id"].rsplit(":", 1)[1])


@cache
def scored_sample(generator: str) -> list[tuple[dict, ScoreReport]]:
    """(record, report against the reference) for every SAMPLE_EVERY-th instruction."""
    rows = [r for r in alpaca(generator) if instruction(r) % SAMPLE_EVERY == 0]
    return [(r, score(r["prompt"], r["output"], r["reference"])) for r in rows]


@cache
def heuristic_reports(generator: str) -> list[ScoreReport]:
    """Reference-free reports (cheap: no ROUGE) for every record of a generator."""
    return [score(r["prompt"], r["output"]) for r in alpaca(generator)]
