"""``rouge_l`` (rouge-score's tokens, rapidfuzz's C++ LCS) equals rouge-score's own stemmed ROUGE-L
on every record of ../shared/data: each AlpacaEval output against its reference, and each GSM8K
worked solution against the next question's (the data has no GSM8K outputs). rouge-score's values
for all 5,344 pairs are stored (``tests/scoring/rouge_golden.py``); a seeded sample is recomputed
by rouge-score here, so a stale file or a changed rouge-score fails."""
from __future__ import annotations

import json
import random
from importlib.metadata import version

from driftgate.paths import data_dir
from functions.scoring.reference import rouge_l
from tests.scoring import rouge_golden

SAMPLE = 400


def test_the_stored_values_are_rouge_scores_on_these_pairs() -> None:
    pairs, golden = rouge_golden.all_pairs(), rouge_golden.load()
    assert len(pairs) == 5 * 805 + 1319 == len(golden["fmeasure"])
    assert golden["pairs_sha256"] == rouge_golden.pairs_sha256(pairs), "data changed: regenerate the golden file"
    assert golden["rouge_score"] == version("rouge-score"), "rouge-score changed: regenerate the golden file"
    sample = sorted(random.Random(20261201).sample(range(len(pairs)), SAMPLE))
    live = rouge_golden.rouge_score_fmeasures([pairs[i] for i in sample])
    assert live == [golden["fmeasure"][i] for i in sample]


def test_rouge_l_equals_rouge_score_on_every_record() -> None:
    pairs, expected = rouge_golden.all_pairs(), rouge_golden.load()["fmeasure"]
    diffs = [abs(rouge_l(output, ref) - want) for (output, ref), want in zip(pairs, expected, strict=True)]
    assert len(diffs) == 5 * 805 + 1319
    assert max(diffs) <= 1e-9


def test_no_length_cap() -> None:
    """The longest real output is scored whole: appending text that matches the reference raises
    ROUGE-L even past the old 1,024-token cap."""
    with open(data_dir() / "alpaca_eval" / "Mixtral-8x7B-Instruct-v0.1_verbose.jsonl") as lines:
        longest = max(map(json.loads, lines), key=lambda r: len(r["output"]))
    padded = longest["output"] + " filler" * 1500
    assert len(padded.split()) > 1500
    assert rouge_l(padded + " " + longest["reference"], longest["reference"]) > rouge_l(padded, longest["reference"])
