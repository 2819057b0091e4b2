"""How well ``quality`` agrees with the AlpacaEval GPT-4-turbo judge.

The judge gives ``judge_pref_over_reference``: the probability that an output beats the
``gpt4_1106_preview`` reference answer. Two measures, both over records where it is known:

- Spearman rank correlation between quality and the judge preference, all records pooled;
- pairwise accuracy: for the same instruction answered by two generators that the judge ranks
  differently, how often the higher-quality answer is the one the judge prefers (a quality tie
  counts half). This is the question a regression gate asks ("is the new model worse?").

The reference generator's own records are left out: its output *is* the reference, so its
quality is 1 and its judge preference 0.5 by construction, which would inflate both numbers.

Regenerate with ``python -m benchmarks.agreement``. An offline analysis of the scorer on the shared
data, not part of it: the scorer pack (``functions.scoring``) ships without it.
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from itertools import combinations

from scipy.stats import spearmanr

from driftgate.testing.realdata import load_alpaca_eval
from functions.scoring.pack import score


def judged(records: Iterable[dict]) -> list[dict]:
    """Records with a judge preference, minus the reference answering itself."""
    return [
        r for r in records
        if r.get("judge_pref_over_reference") is not None and r["output"] != r["reference"]
    ]


@dataclass(frozen=True)
class Agreement:
    spearman: float
    n_records: int
    pairwise_accuracy: float
    n_pairs: int
    generators: tuple[str, ...]


def _instruction(record: dict) -> str:
    return record["id"].rsplit(":", 1)[1]


def agreement(records: Sequence[dict], qualities: Sequence[float]) -> Agreement:
    """Agreement of ``qualities`` (one per record) with the records' judge preferences.

    ``records`` should already be ``judged()``; they need ``id``, ``generator`` and
    ``judge_pref_over_reference``.
    """
    prefs = [r["judge_pref_over_reference"] for r in records]
    rho = float(spearmanr(qualities, prefs).statistic)

    by_instruction: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r, q, p in zip(records, qualities, prefs, strict=True):
        by_instruction[_instruction(r)].append((q, p))
    hits = 0.0
    n_pairs = 0
    for answers in by_instruction.values():
        for (qa, pa), (qb, pb) in combinations(answers, 2):
            if pa == pb:  # the judge has no preference: nothing to agree with
                continue
            n_pairs += 1
            if qa == qb:
                hits += 0.5
            elif (qa > qb) == (pa > pb):
                hits += 1
    return Agreement(
        spearman=rho,
        n_records=len(records),
        pairwise_accuracy=hits / n_pairs if n_pairs else float("nan"),
        n_pairs=n_pairs,
        generators=tuple(sorted({r["generator"] for r in records})),
    )


def quality_agreement(
    records: Iterable[dict] | None = None,
    scorer: Callable[[dict], float] = lambda r: score(r["prompt"], r["output"], r["reference"]).quality,
) -> Agreement:
    """Score the judged records (all AlpacaEval files by default) and measure agreement."""
    rows = judged(load_alpaca_eval() if records is None else records)
    return agreement(rows, [scorer(r) for r in rows])


if __name__ == "__main__":
    print(json.dumps(asdict(quality_agreement())))
