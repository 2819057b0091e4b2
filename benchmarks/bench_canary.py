"""The canary's sequential test on the real AlpacaEval answers, looked at after every interaction.

    python -m benchmarks.bench_canary [--seeds 500] [--min-samples 30 10]

- **A/A**: one file on both arms (alpaca-7b, Mixtral, gpt4_1106_preview), shares 0.5 and 0.1,
  ``--seeds`` replays each: the rate of any decision other than ``inconclusive`` (must stay
  ≤ alpha), beside Welch's fixed-horizon t-test re-run at every look from the same per-arm
  minimum (how often peeking would have promoted or rolled back).
- **Power and speed**: gpt4_1106_preview and Mixtral against alpaca-7b at both shares, the better
  model as staging (should promote) and as production (staging worse: should roll back):
  decision rates and the interactions needed to decide, median and 90th percentile over seeds
  ("—" where fewer than half / 90% of the seeds decided within the 805 instructions).
- **Safety**: promotions of the worse arm (must be 0).

Each file is scored once per mode, as ingest scores it: with the record's reference
(``gpt4_1106_preview``'s answer, so that file is scored against itself, quality ≈ 1) and without
(the pack's reference-free quality, what live traffic without references gets). Streams are the
CLI's (``driftgate canary simulate``: seeded order, hash assignment); the test is the vectorised
replay (``functions.canary.replay.replay_codes``), checked against the CLI's look-by-look replay
on a few seeds first. Prints tables and one JSON line; exits 1 if an A/A rate exceeds alpha or the
worse arm is ever promoted. ``--min-samples`` runs each figure for each per-arm minimum (the first
is the default setting; a lower one shows what the minimum costs and what it protects).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # runnable as a plain script

from driftgate.testing.canary import (
    ALPACA,
    GPT4,
    MIXTRAL,
    ScoredFile,
    Stream,
    make_stream,
    naive_peeking,
    replay,
    score_file,
)
from functions.canary import CanaryConfig, Observation
from functions.canary.decision import DECISIONS, INCONCLUSIVE, PROMOTE, ROLLBACK
from functions.canary.replay import replay as replay_looks
from functions.canary.replay import simulation_canary_id
from functions.canary.sequential import log_likelihood_ratio, sample_variance

SHARES = (0.5, 0.1)
MODES = {"with reference": True, "no reference": False}
LABEL = {GPT4: "gpt4", MIXTRAL: "Mixtral", ALPACA: "alpaca-7b"}


def check_against_looks(files: dict[tuple[str, bool], ScoredFile], streams: dict[tuple[float, int], Stream],
                        config: CanaryConfig, seeds: int = 3) -> int:
    """The vectorised replay decides exactly as the look-by-look one (the CLI's) on a few seeds."""
    checked = 0
    for share in SHARES:
        for seed in range(seeds):
            control, treatment = files[(ALPACA, True)], files[(MIXTRAL, True)]
            s = streams[(share, seed)]
            served = [("treatment" if t else "control",
                       Observation(quality=(treatment if t else control).quality[p],
                                   flags=tuple(f for f, on in (("refusal", (treatment if t else control).refusal[p]),
                                                               ("pii", (treatment if t else control).pii[p])) if on)))
                      for p, t in zip(s.positions, s.treated, strict=True)]
            looked = replay_looks(served, simulation_canary_id(seed), config)
            fast = replay(control, treatment, s, config)
            assert (DECISIONS[fast.code], fast.stopped_at) == (looked.decision.decision, looked.stopped_at), (
                share, seed, fast, looked.decision.decision, looked.stopped_at)
            checked += 1
    return checked


def aa(files, streams, config: CanaryConfig, seeds: int) -> list[dict[str, Any]]:
    rows = []
    for name in (ALPACA, MIXTRAL, GPT4):
        for mode, with_reference in MODES.items():
            f = files[(name, with_reference)]
            for share in SHARES:
                codes, naive = [], []
                for seed in range(seeds):
                    s = streams[(share, seed)]
                    codes.append(replay(f, f, s, config).code)
                    naive.append(naive_peeking(f, f, s, min_samples=config.min_samples, alpha=config.alpha)[0])
                codes_a, naive_a = np.array(codes), np.array(naive)
                rows.append({"file": LABEL[name], "mode": mode, "share": share, "seeds": seeds,
                             "false_decisions": float(np.mean(codes_a != INCONCLUSIVE)),
                             "false_promotions": float(np.mean(codes_a == PROMOTE)),
                             "naive_false_decisions": float(np.mean(naive_a != 0)),
                             "naive_promotions": float(np.mean(naive_a == PROMOTE))})
    return rows


def without_floor(files, streams, config: CanaryConfig, seeds: int) -> list[dict[str, Any]]:
    """Ablation: A/A at a 10% share with each arm's own plug-in variance (no pooled floor), what
    the floor in ``functions.canary.sequential`` is for."""
    rows = []
    for name in (ALPACA, MIXTRAL, GPT4):
        f = files[(name, False)]
        decided = 0
        for seed in range(seeds):
            s = streams[(0.1, seed)]
            q = f.quality[s.positions]
            t, c = s.treated.astype(float), 1.0 - s.treated
            n_t, n_c = np.cumsum(t), np.cumsum(c)
            with np.errstate(divide="ignore", invalid="ignore"):
                v = (sample_variance(n_t, np.cumsum(q * t), np.cumsum(q * q * t)) / n_t
                     + sample_variance(n_c, np.cumsum(q * c), np.cumsum(q * q * c)) / n_c)
                effect = np.cumsum(q * t) / n_t - np.cumsum(q * c) / n_c
                log_lr = log_likelihood_ratio(effect, np.maximum(v, 1e-12), config.mixture_sd)
            ready = (n_t >= config.min_samples) & (n_c >= config.min_samples)
            decided += bool(np.any(ready & (log_lr >= np.log(1 / config.quality_alpha))))
        rows.append({"file": LABEL[name], "mode": "no reference", "share": 0.1, "seeds": seeds,
                     "false_decisions": decided / seeds})
    return rows


def _quantile(stops: np.ndarray, q: float) -> float | None:
    if not len(stops):
        return None
    value = float(np.quantile(stops, q, method="inverted_cdf"))  # an observed count; no inf − inf
    return None if not np.isfinite(value) else value


def power(files, streams, config: CanaryConfig, seeds: int) -> list[dict[str, Any]]:
    rows = []
    for better in (GPT4, MIXTRAL):
        for mode, with_reference in MODES.items():
            good, bad = files[(better, with_reference)], files[(ALPACA, with_reference)]
            for share in SHARES:
                for staging, control, treatment, expected in (("better", bad, good, PROMOTE),
                                                              ("worse", good, bad, ROLLBACK)):
                    results = [replay(control, treatment, streams[(share, seed)], config) for seed in range(seeds)]
                    codes = np.array([r.code for r in results])
                    # Seeds that never reach the expected decision count as not decided within the stream.
                    stops = np.array([r.stopped_at if r.code == expected else np.inf for r in results])
                    rows.append({"pair": f"{LABEL[better]} vs alpaca-7b", "mode": mode, "share": share,
                                 "staging": staging, "seeds": seeds,
                                 "promote": float(np.mean(codes == PROMOTE)),
                                 "rollback": float(np.mean(codes == ROLLBACK)),
                                 "inconclusive": float(np.mean(codes == INCONCLUSIVE)),
                                 # inconclusive though the interval lay above min_effect: a guard blocked it
                                 "guard_blocked": float(np.mean([r.code == INCONCLUSIVE and not r.guards_ok
                                                                 and r.ci_low > config.min_effect
                                                                 for r in results])),
                                 # over every seed (None: fewer than half / 90% reached it) and over
                                 # the seeds that reached the expected decision
                                 "median": _quantile(stops, 0.5), "p90": _quantile(stops, 0.9),
                                 "median_decided": _quantile(stops[np.isfinite(stops)], 0.5),
                                 "p90_decided": _quantile(stops[np.isfinite(stops)], 0.9),
                                 "unsafe_promotions": int(np.sum(codes == PROMOTE)) if staging == "worse" else 0})
    return rows


def _pct(x: float) -> str:
    return f"{x:.1%}"


def _n(x: float | None) -> str:
    return "—" if x is None else f"{x:.0f}"


def print_aa(rows: list[dict[str, Any]], config: CanaryConfig) -> None:
    print(f"\nA/A, min {config.min_samples} per arm, alpha {config.alpha} (quality test {config.quality_alpha:.3f})")
    print("| file | scored | share | seeds | sequential: any decision | promote | naive peeking: any | promote |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['file']} | {r['mode']} | {r['share']} | {r['seeds']} | {_pct(r['false_decisions'])} | "
              f"{_pct(r['false_promotions'])} | {_pct(r['naive_false_decisions'])} | {_pct(r['naive_promotions'])} |")


def print_power(rows: list[dict[str, Any]], config: CanaryConfig) -> None:
    print(f"\nPower and speed, min {config.min_samples} per arm: interactions to the expected decision")
    print("| pair | scored | share | staging | promote | rollback | inconclusive (guard) | median | p90 "
          "| median, p90 of those that decided |")
    print("| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['pair']} | {r['mode']} | {r['share']} | {r['staging']} | {_pct(r['promote'])} | "
              f"{_pct(r['rollback'])} | {_pct(r['inconclusive'])} ({_pct(r['guard_blocked'])}) | "
              f"{_n(r['median'])} | {_n(r['p90'])} | {_n(r['median_decided'])}, {_n(r['p90_decided'])} |")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=500)
    parser.add_argument("--min-samples", type=int, nargs="+", default=[CanaryConfig().min_samples, 10])
    args = parser.parse_args(argv)
    started = time.perf_counter()
    files = {(name, with_reference): score_file(name, with_reference=with_reference)
             for name in (ALPACA, MIXTRAL, GPT4) for with_reference in MODES.values()}
    scored_s = time.perf_counter() - started
    indices = files[(ALPACA, True)].indices
    streams = {(share, seed): make_stream(indices, share=share, seed=seed)
               for share in SHARES for seed in range(args.seeds)}
    means = {f"{LABEL[name]} ({'ref' if ref else 'no ref'})": float(f.quality.mean())
             for (name, ref), f in files.items()}
    print("mean quality:", ", ".join(f"{k} {v:.3f}" for k, v in means.items()))
    result: dict[str, Any] = {"benchmark": "canary", "seeds": args.seeds, "mean_quality": means, "runs": []}
    failures = []
    for min_samples in args.min_samples:
        config = CanaryConfig(min_samples=min_samples)
        checked = check_against_looks(files, streams, config)
        aa_rows, power_rows = aa(files, streams, config, args.seeds), power(files, streams, config, args.seeds)
        ablation = without_floor(files, streams, config, args.seeds)
        print_aa(aa_rows, config)
        print("without the pooled variance floor (A/A, share 0.1, no reference): "
              + ", ".join(f"{r['file']} {_pct(r['false_decisions'])}" for r in ablation))
        print_power(power_rows, config)
        worst = max(r["false_decisions"] for r in aa_rows)
        unsafe = sum(r["unsafe_promotions"] for r in power_rows)
        if worst > config.alpha:
            failures.append(f"min {min_samples}: an A/A false-decision rate {worst:.1%} exceeds alpha {config.alpha}")
        if unsafe:
            failures.append(f"min {min_samples}: the worse arm was promoted {unsafe} times")
        print(f"worst A/A false-decision rate {worst:.1%} (alpha {config.alpha}); unsafe promotions {unsafe}; "
              f"vectorised = look-by-look on {checked} replays")
        result["runs"].append({"min_samples": min_samples, "config": config.model_dump(mode="json"), "aa": aa_rows,
                               "power": power_rows, "without_floor": ablation, "worst_aa_rate": worst,
                               "unsafe_promotions": unsafe, "checked_against_looks": checked})
    result.update(failures=failures, scoring_s=round(scored_s, 1), wall_s=round(time.perf_counter() - started, 1))
    print(f"\nscoring {scored_s:.1f} s, whole run {result['wall_s']} s")
    for failure in failures:
        print("FAIL:", failure)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    sys.exit(1 if main()["failures"] else 0)
