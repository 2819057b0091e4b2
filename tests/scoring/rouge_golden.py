"""rouge-score's own stemmed ROUGE-L F-measure for every real pair (``all_pairs``), computed once
and stored in ``golden/rouge_l.json.gz`` with the sha256 of the pairs it was computed on and the
rouge-score version: rouge-score's pure-Python LCS takes over a minute on these 5,344 pairs, so the
suite compares ours with the stored values on every pair and re-runs rouge-score on a sample.

Regenerate after the data or the rouge-score pin changes::

    .venv/bin/python -m tests.scoring.rouge_golden
"""
from __future__ import annotations

import gzip
import hashlib
import json
from importlib.metadata import version
from pathlib import Path
from typing import Any

from driftgate.paths import data_dir

GOLDEN = Path(__file__).parent / "golden" / "rouge_l.json.gz"


def all_pairs() -> list[tuple[str, str]]:
    """(output, reference): each AlpacaEval output against its reference, and each GSM8K worked
    solution against the next question's (the data has no GSM8K outputs)."""
    pairs = []
    for path in sorted((data_dir() / "alpaca_eval").glob("*.jsonl")):
        with open(path) as lines:
            pairs += [(r["output"] or "", r["reference"] or "") for r in map(json.loads, lines)]
    with open(data_dir() / "gsm8k" / "test.jsonl") as lines:
        solutions = [json.loads(line)["reference"] for line in lines]
    return pairs + list(zip(solutions, solutions[1:] + solutions[:1], strict=True))


def pairs_sha256(pairs: list[tuple[str, str]]) -> str:
    return hashlib.sha256(json.dumps(pairs).encode()).hexdigest()


def rouge_score_fmeasures(pairs: list[tuple[str, str]]) -> list[float]:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    return [scorer.score(ref, output)["rougeL"].fmeasure for output, ref in pairs]


def load() -> dict[str, Any]:
    with gzip.open(GOLDEN, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def main() -> None:
    pairs = all_pairs()
    golden = {"rouge_score": version("rouge-score"), "pairs_sha256": pairs_sha256(pairs),
              "fmeasure": rouge_score_fmeasures(pairs)}
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(GOLDEN, "wb", mtime=0) as handle:
        handle.write(json.dumps(golden).encode())
    print(f"{GOLDEN}: {len(pairs)} pairs")


if __name__ == "__main__":
    main()
