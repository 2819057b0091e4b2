"""Scorer-pack throughput on the real AlpacaEval outputs, plus the quality numbers they yield.

    python benchmarks/bench_scoring.py [--every N]

Scores every AlpacaEval record (5 generators x 805 instructions) against its reference, prints
records/second/core (scoring is single-threaded pure Python, so records per CPU-second of this
process is the per-core rate; wall-clock is printed too, it is lower on a busy machine), the
ratio of that rate to rouge-score's stemmed ROUGE-L alone on the same (output, reference) pairs,
measured in the same run, mean quality and flag rates per generator, the agreement of quality
with the AlpacaEval judge, and finally one JSON line with all of it. ``--every N`` keeps every
N-th instruction (quick runs).

``run_pack(records)`` is the reusable piece: records/s of the pack alone on ``records``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from statistics import mean

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # runnable as a plain script

from benchmarks.agreement import agreement, judged
from driftgate.testing.realdata import load_alpaca_eval
from functions.scoring import ScoreReport, score
from functions.scoring.reference import rouge_l


def _score_all(records: Sequence[dict], with_reference: bool = True) -> list[ScoreReport]:
    return [
        score(r["prompt"], r["output"] or "", r.get("reference") if with_reference else None)
        for r in records
    ]


def run_pack(
    records: Sequence[dict],
    clock: Callable[[], float] = time.process_time,
    with_reference: bool = True,
) -> float:
    """Records per second for ``score()`` alone over ``records`` (dicts with ``prompt``,
    ``output`` and optionally ``reference``). The default clock is this process's CPU time, i.e.
    the rate of one core; pass ``time.perf_counter`` for wall-clock."""
    start = clock()
    _score_all(records, with_reference)
    elapsed = clock() - start
    return len(records) / elapsed if elapsed > 0 else float("inf")


def rouge_speedup(records: Sequence[dict], clock: Callable[[], float] = time.process_time) -> dict[str, float]:
    """ROUGE-L of every (output, reference) pair by ours (rouge-score's tokens, rapidfuzz's LCS) and
    by rouge-score's own stemmed scorer, side by side in this run: pairs/s of each and the ratio."""
    from rouge_score import rouge_scorer

    pairs = [(r["output"] or "", r["reference"]) for r in records if r.get("reference")]
    peer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    start = clock()
    ours = [rouge_l(output, reference) for output, reference in pairs]
    ours_s = clock() - start
    start = clock()
    theirs = [peer.score(reference, output)["rougeL"].fmeasure for output, reference in pairs]
    theirs_s = clock() - start
    return {"pairs": len(pairs), "ours_per_s": round(len(pairs) / ours_s, 1),
            "rouge_score_per_s": round(len(pairs) / theirs_s, 1), "speedup": round(theirs_s / ours_s, 1),
            "max_abs_diff": max(abs(a - b) for a, b in zip(ours, theirs, strict=True))}


def _timed(records: Sequence[dict], with_reference: bool) -> tuple[list[ScoreReport], float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    reports = _score_all(records, with_reference)
    return reports, len(records) / (time.process_time() - cpu), len(records) / (time.perf_counter() - wall)


def summarise(records: Iterable[dict], reports: Iterable[ScoreReport]) -> dict[str, dict]:
    by_generator: dict[str, list[ScoreReport]] = defaultdict(list)
    for r, rep in zip(records, reports, strict=True):
        by_generator[r["generator"]].append(rep)
    out = {}
    for generator, reps in by_generator.items():
        flags = Counter(f for rep in reps for f in rep.flags)
        out[generator] = {
            "n": len(reps),
            "mean_quality": round(mean(rep.quality for rep in reps), 4),
            "mean_rouge_l": round(mean(rep.rouge_l for rep in reps if rep.rouge_l is not None), 4),
            "mean_token_f1": round(mean(rep.token_f1 for rep in reps if rep.token_f1 is not None), 4),
            "flag_rates": {f: round(n / len(reps), 4) for f, n in sorted(flags.items())},
        }
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=1, help="keep every N-th instruction")
    args = parser.parse_args(argv)
    records = [
        r for r in load_alpaca_eval() if int(r["id"].rsplit(":", 1)[1]) % args.every == 0
    ]

    reports, per_core, wall = _timed(records, with_reference=True)
    _, per_core_no_ref, wall_no_ref = _timed(records, with_reference=False)
    print(f"scored {len(records)} AlpacaEval records")
    print(f"with reference:    {per_core:8.1f} records/s/core   ({wall:.1f} records/s wall)")
    print(f"without reference: {per_core_no_ref:8.1f} records/s/core   ({wall_no_ref:.1f} records/s wall)")

    rouge = rouge_speedup(records)
    print(f"ROUGE-L alone: {rouge['ours_per_s']:.0f} pairs/s vs rouge-score {rouge['rouge_score_per_s']:.0f} "
          f"pairs/s = {rouge['speedup']:.1f}x (max |diff| {rouge['max_abs_diff']:.1e})")
    # The whole pack (every metric and flag) against rouge-score's ROUGE-L alone, same pairs, same run.
    pack_vs_rouge_score = per_core / rouge["rouge_score_per_s"]
    print(f"whole pack vs rouge-score's ROUGE-L alone: {per_core:.0f} records/s/core vs "
          f"{rouge['rouge_score_per_s']:.0f} pairs/s = {pack_vs_rouge_score:.1f}x")

    generators = summarise(records, reports)
    for generator, stats in generators.items():
        print(f"{generator:38s} quality {stats['mean_quality']:.3f}  rouge_l {stats['mean_rouge_l']:.3f}  "
              f"flags {stats['flag_rates']}")

    quality_of = {r["id"]: rep.quality for r, rep in zip(records, reports, strict=True)}
    kept = judged(records)
    agree = agreement(kept, [quality_of[r["id"]] for r in kept])
    print(f"judge agreement: Spearman {agree.spearman:.3f} over {agree.n_records} records, "
          f"pairwise accuracy {agree.pairwise_accuracy:.3f} over {agree.n_pairs} pairs")

    result = {
        "records": len(records),
        "records_per_s_per_core": round(per_core, 1),
        "records_per_s_wall": round(wall, 1),
        "records_per_s_per_core_no_reference": round(per_core_no_ref, 1),
        "records_per_s_wall_no_reference": round(wall_no_ref, 1),
        "rouge_l_vs_rouge_score": rouge,
        "pack_vs_rouge_score_rouge_l": round(pack_vs_rouge_score, 1),
        "judge_spearman": round(agree.spearman, 4),
        "judge_pairwise_accuracy": round(agree.pairwise_accuracy, 4),
        "judge_records": agree.n_records,
        "judge_pairs": agree.n_pairs,
        "generators": generators,
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
