"""``rouge_l`` (rouge-score's tokens, rapidfuzz's C++ LCS) equals rouge-score's own stemmed ROUGE-L
on every record of ../shared/data: each AlpacaEval output against its reference, and each GSM8K
worked solution against the next question's (the data has no GSM8K outputs)."""
from __future__ import annotations

import json

import pytest
from rouge_score import rouge_scorer

from driftgate.paths import data_dir
from functions.scoring.reference import rouge_l

pytestmark = pytest.mark.slow  # rouge-score's pure-Python LCS over 5,344 pairs: about a minute


def all_pairs() -> list[tuple[str, str]]:
    pairs = []
    for path in sorted((data_dir() / "alpaca_eval").glob("*.jsonl")):
        with open(path) as lines:
            pairs += [(r["output"] or "", r["reference"] or "") for r in map(json.loads, lines)]
    with open(data_dir() / "gsm8k" / "test.jsonl") as lines:
        solutions = [json.loads(line)["reference"] for line in lines]
    return pairs + list(zip(solutions, solutions[1:] + solutions[:1], strict=True))


def test_rouge_l_equals_rouge_score_on_every_record() -> None:
    pairs = all_pairs()
    reference = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    diffs = [abs(rouge_l(output, ref) - reference.score(ref, output)["rougeL"].fmeasure) for output, ref in pairs]
    assert len(pairs) == 5 * 805 + 1319
    assert max(diffs) <= 1e-9


def test_no_length_cap() -> None:
    """The longest real output is scored whole: appending text that matches the reference raises
    ROUGE-L even past the old 1,024-token cap."""
    with open(data_dir() / "alpaca_eval" / "Mixtral-8x7B-Instruct-v0.1_verbose.jsonl") as lines:
        longest = max(map(json.loads, lines), key=lambda r: len(r["output"]))
    padded = longest["output"] + " filler" * 1500
    assert len(padded.split()) > 1500
    assert rouge_l(padded + " " + longest["reference"], longest["reference"]) > rouge_l(padded, longest["reference"])
