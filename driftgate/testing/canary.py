"""Canary replays on the real AlpacaEval files, for tests and benchmarks: each file scored once
(as ingest scores it), the seeded streams the CLI replays, the sequential test vectorised over
the looks, and, beside it, the naive fixed-horizon t-test re-run at every look."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from driftgate.paths import data_dir
from functions.canary import CanaryConfig
from functions.canary.assignment import TREATMENT
from functions.canary.decision import CONTINUE, PROMOTE, ROLLBACK
from functions.canary.replay import VectorReplay, replay_codes, stream
from functions.canary.sequential import sample_variance
from functions.scoring import score

GPT4 = "gpt4_1106_preview"
MIXTRAL = "Mixtral-8x7B-Instruct-v0.1"
ALPACA = "alpaca-7b"


@dataclass(frozen=True)
class ScoredFile:
    """One file's scores by instruction index (position i = the i-th smallest index)."""

    name: str
    indices: tuple[int, ...]
    quality: NDArray[np.float64]
    refusal: NDArray[np.bool_]
    pii: NDArray[np.bool_]


def alpaca_path(generator: str) -> Path:
    return data_dir() / "alpaca_eval" / f"{generator}.jsonl"


def score_file(generator: str, *, with_reference: bool = True) -> ScoredFile:
    with alpaca_path(generator).open(encoding="utf-8") as lines:
        records = sorted((json.loads(line) for line in lines if line.strip()),
                         key=lambda r: int(r["id"].rsplit(":", 1)[1]))
    reports = [score(r["prompt"], r["output"] or "", r.get("reference") if with_reference else None,
                     r.get("expected_format")) for r in records]
    return ScoredFile(name=generator, indices=tuple(int(r["id"].rsplit(":", 1)[1]) for r in records),
                      quality=np.array([x.quality for x in reports]),
                      refusal=np.array(["refusal" in x.flags for x in reports]),
                      pii=np.array(["pii" in x.flags for x in reports]))


@dataclass(frozen=True)
class Stream:
    """One seed's replay order: positions into a ScoredFile, and which went to staging."""

    positions: NDArray[np.int64]
    treated: NDArray[np.bool_]


def make_stream(indices: tuple[int, ...], *, share: float, seed: int) -> Stream:
    """The CLI's stream (``functions.canary.replay.stream``) as arrays."""
    where = {index: i for i, index in enumerate(indices)}
    served = stream(indices, share=share, seed=seed)
    return Stream(positions=np.array([where[unit] for unit, _ in served]),
                  treated=np.array([arm == TREATMENT for _, arm in served]))


def _served(control: ScoredFile, treatment: ScoredFile, s: Stream, field: str) -> NDArray:
    return np.where(s.treated, getattr(treatment, field)[s.positions], getattr(control, field)[s.positions])


def replay(control: ScoredFile, treatment: ScoredFile, s: Stream, config: CanaryConfig) -> VectorReplay:
    if control.indices != treatment.indices:
        raise ValueError(f"{control.name} and {treatment.name} hold different instruction indices")
    return replay_codes(s.treated, _served(control, treatment, s, "quality"), _served(control, treatment, s, "refusal"),
                        _served(control, treatment, s, "pii"), config)


def naive_peeking(control: ScoredFile, treatment: ScoredFile, s: Stream, *, min_samples: int,
                  alpha: float = 0.05) -> tuple[int, int]:
    """(code, look) of the first look at which Welch's fixed-horizon t-test, re-run after every
    interaction from ``min_samples`` per arm on, is significant: PROMOTE or ROLLBACK by the sign
    of the difference; (CONTINUE, 0) if it never is."""
    from scipy import stats

    q = _served(control, treatment, s, "quality")
    t, c = s.treated.astype(float), 1.0 - s.treated
    n_t, n_c = np.cumsum(t), np.cumsum(c)
    sum_t, sum_c = np.cumsum(q * t), np.cumsum(q * c)
    se2_t = sample_variance(n_t, sum_t, np.cumsum(q * q * t)) / n_t
    se2_c = sample_variance(n_c, sum_c, np.cumsum(q * q * c)) / n_c
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = sum_t / n_t - sum_c / n_c
        tstat = diff / np.sqrt(se2_t + se2_c)
        df = (se2_t + se2_c) ** 2 / (se2_t**2 / (n_t - 1) + se2_c**2 / (n_c - 1))
        p = 2 * stats.t.sf(np.abs(tstat), df)
    significant = (n_t >= min_samples) & (n_c >= min_samples) & (p < alpha)
    if not significant.any():
        return CONTINUE, 0
    i = int(np.argmax(significant))
    return (PROMOTE if diff[i] > 0 else ROLLBACK), i + 1
