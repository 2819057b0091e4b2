"""A canary replayed: a recorded stream of interactions split by the assignment hash and looked at
after every interaction (``driftgate canary simulate``), and the same replay vectorised over the
looks (``replay_codes``) for the benchmark's thousands of seeds: same arithmetic
(``sequential.compare_sums``), same rules (``decision.rule``)."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict

from functions.canary.assignment import Arm, assign
from functions.canary.config import CanaryConfig
from functions.canary.decision import CONTINUE, CanaryDecision, CanaryState, look, rate_regressed, rule
from functions.canary.sequential import compare_sums
from functions.canary.stats import Observation

SIMULATION_MODEL = "simulate"  # the model name replays hash units with


def simulation_canary_id(seed: int) -> str:
    return f"simulate-{seed}"


def stream(units: Iterable[int], *, share: float, seed: int, model: str = SIMULATION_MODEL,
           canary_id: str | None = None) -> list[tuple[int, Arm]]:
    """Each unit once, in a seeded random order, with the arm the hash gives it."""
    canary_id = canary_id or simulation_canary_id(seed)
    ordered = sorted(set(units))
    order = np.random.default_rng(seed).permutation(len(ordered))
    return [(ordered[i], assign(model, str(ordered[i]), canary_id, share)) for i in order]


class ReplayResult(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    decision: CanaryDecision
    stopped_at: int  # interactions seen when the decision was taken
    interactions: int  # interactions the stream held


def replay(served: Sequence[tuple[Arm, Observation]], canary_id: str, config: CanaryConfig) -> ReplayResult:
    """Look after every interaction, as a live canary would; stops at the first final decision
    (the last interaction's look is the last look: inconclusive if nothing was decided)."""
    if not served:
        raise ValueError("nothing to replay")
    state = CanaryState(canary_id=canary_id)
    for number, (arm, observation) in enumerate(served, start=1):
        state = state.observe(arm, observation, config.good_quality)
        state, decision = look(state, config, last=number == len(served))
        if decision.final:
            break
    return ReplayResult(decision=decision, stopped_at=number, interactions=len(served))


@dataclass(frozen=True)
class VectorReplay:
    """One replay decided at every look at once: the first final look and its numbers."""

    code: int  # decision.PROMOTE, ROLLBACK or INCONCLUSIVE
    stopped_at: int
    n_control: int
    n_treatment: int
    p_value: float
    ci_low: float
    ci_high: float
    guards_ok: bool  # at the stopping look (False: a guard blocked the promotion the interval allowed)


def _cumulative(values: NDArray[np.float64], mask: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.cumsum(values * mask)


def replay_codes(treated: ArrayLike, quality: ArrayLike, refusal: ArrayLike, pii: ArrayLike,
                 config: CanaryConfig) -> VectorReplay:
    """``replay`` for streams without feedback or groups, vectorised over the looks: ``treated``
    (served by staging), ``quality``, ``refusal`` and ``pii`` (flags) per interaction, in stream order."""
    if config.protected_attribute:
        raise ValueError("replay_codes has no groups: replay() decides with the disparate-impact guard")
    t = np.asarray(treated, dtype=float)
    c = 1.0 - t
    q = np.asarray(quality, dtype=float)
    n_t, n_c = np.cumsum(t), np.cumsum(c)
    cmp = compare_sums(n_c, _cumulative(q, c), _cumulative(q * q, c), n_t, _cumulative(q, t), _cumulative(q * q, t),
                       alpha=config.quality_alpha, tau=config.mixture_sd)
    eligible = (n_c >= config.min_samples) & (n_t >= config.min_samples)
    p_value = np.minimum.accumulate(np.where(eligible, cmp.p_value, 1.0))
    refusal_f, pii_f = np.asarray(refusal, dtype=float), np.asarray(pii, dtype=float)
    guards_ok = ~(rate_regressed(_cumulative(refusal_f, c), n_c, _cumulative(refusal_f, t), n_t, config.refusal_margin)
                  | rate_regressed(_cumulative(pii_f, c), n_c, _cumulative(pii_f, t), n_t, config.pii_margin))
    at_limit = n_c + n_t >= config.max_samples
    at_limit[-1] = True  # the last look
    codes = rule(eligible, cmp.ci_low, cmp.ci_high, min_effect=config.min_effect, guards_ok=guards_ok,
                 feedback_worse=False, at_limit=at_limit)
    i = int(np.argmax(codes != CONTINUE))
    return VectorReplay(code=int(codes[i]), stopped_at=i + 1, n_control=int(n_c[i]), n_treatment=int(n_t[i]),
                        p_value=float(p_value[i]), ci_low=float(cmp.ci_low[i]), ci_high=float(cmp.ci_high[i]),
                        guards_ok=bool(guards_ok[i]))
