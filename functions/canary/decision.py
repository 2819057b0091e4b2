"""One look at a canary: the sequential test on quality (and feedback), the guards, the decision.

The rules, in order, once both arms hold ``min_samples`` interactions:

1. **rollback** when staging is worse: the quality confidence sequence lies below 0, or the
   feedback one does (with ``min_samples`` ratings per arm);
2. **promote** when the quality sequence lies above ``min_effect`` and no guard regressed: refusal
   and PII rates and disparate impact, as the offline gate defines them
   (``functions/gate/decision.py``: point rates, the same margins);
3. **inconclusive** (production kept) at ``max_samples`` interactions, ``max_hours``, or the last
   look (no early stop for "not better by ``min_effect``": a worse staging would often cross that
   line before 0 and end inconclusive instead of rolled back);
4. otherwise **continue**.

A guard only blocks a promotion: rates of rare flags compared point against point would roll back
a healthy canary on one early PII match. Every promotion or rollback needs its sequence to exclude
0, so with staging no different from production either happens with probability ≤ alpha (quality
and feedback split alpha, ``CanaryConfig.feedback_alpha_share``) however many looks are taken.

``rule`` takes arrays, so the benchmark's vectorised replays decide with the same code as ``look``.
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict

from functions.canary.assignment import TREATMENT, Arm
from functions.canary.config import CanaryConfig
from functions.canary.sequential import Comparison, compare
from functions.canary.stats import ArmStats, GroupCount, Moments, Observation
from functions.gate.decision import Guard

Decision = Literal["continue", "promote", "rollback", "inconclusive"]
CONTINUE, PROMOTE, ROLLBACK, INCONCLUSIVE = 0, 1, 2, 3
DECISIONS: tuple[Decision, ...] = ("continue", "promote", "rollback", "inconclusive")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricTest(_Frozen):
    """The sequential test of one metric at one look."""

    metric: str
    n_control: int
    n_treatment: int
    mean_control: float | None
    mean_treatment: float | None
    effect: float | None  # mean_treatment − mean_control
    p_value: float  # always valid: the running minimum over the looks with enough data
    ci: tuple[float, float] | None  # the confidence sequence at this look
    alpha: float


class CanaryDecision(_Frozen):
    """What one look decided and every number it decided on (stored with the version)."""

    canary_id: str
    decision: Decision
    reason: str
    looks: int
    n_control: int
    n_treatment: int
    mean_control: float | None
    mean_treatment: float | None
    effect: float | None
    p_value: float
    ci: tuple[float, float] | None
    alpha: float  # what the quality test spends (the feedback test spends the rest of config.alpha)
    min_effect: float
    feedback: MetricTest | None
    guards: list[Guard]
    config: dict[str, Any]

    @property
    def final(self) -> bool:
        return self.decision != "continue"

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class CanaryState(_Frozen):
    """A canary between looks: both arms' sufficient statistics and the running minima that make
    the p-values always valid. A Lambda rebuilds the arms from aggregates (``with_arms``); a replay
    adds one interaction at a time (``observe``)."""

    canary_id: str
    control: ArmStats = ArmStats()
    treatment: ArmStats = ArmStats()
    looks: int = 0
    p_value: float = 1.0
    feedback_p_value: float = 1.0

    def observe(self, arm: Arm, observation: Observation, good_quality: float = 0.5) -> CanaryState:
        if arm == TREATMENT:
            return self.model_copy(update={"treatment": self.treatment.add(observation, good_quality)})
        return self.model_copy(update={"control": self.control.add(observation, good_quality)})

    def with_arms(self, control: ArmStats, treatment: ArmStats) -> CanaryState:
        return self.model_copy(update={"control": control, "treatment": treatment})


def rule(eligible: ArrayLike, ci_low: ArrayLike, ci_high: ArrayLike, *, min_effect: float, guards_ok: ArrayLike,
         feedback_worse: ArrayLike, at_limit: ArrayLike) -> NDArray[np.int64]:
    """The decision code (CONTINUE, PROMOTE, ROLLBACK, INCONCLUSIVE) of each look; NaN bounds
    decide nothing."""
    eligible = np.asarray(eligible, dtype=bool)
    low, high = np.asarray(ci_low, dtype=float), np.asarray(ci_high, dtype=float)
    worse = eligible & ((high < 0.0) | np.asarray(feedback_worse, dtype=bool))
    better = eligible & (low > min_effect) & np.asarray(guards_ok, dtype=bool)
    return np.where(worse, ROLLBACK, np.where(better, PROMOTE,
                                              np.where(np.asarray(at_limit, dtype=bool), INCONCLUSIVE, CONTINUE)))


def rate_regressed(count_c: ArrayLike, n_c: ArrayLike, count_t: ArrayLike, n_t: ArrayLike,
                   margin: float) -> NDArray[np.bool_]:
    """The gate's rate guard: staging's rate exceeds production's by more than ``margin``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.asarray(count_t, dtype=float) / np.asarray(n_t) - np.asarray(count_c, dtype=float) / np.asarray(n_c)
    return np.asarray(delta > margin)


def _rate_guard(name: str, count_c: int, n_c: int, count_t: int, n_t: int, margin: float) -> Guard:
    if not (n_c and n_t):
        return Guard(name=name, champion=None, challenger=None, margin=margin, passed=True, detail="not measured")
    champion, challenger = count_c / n_c, count_t / n_t
    return Guard(name=name, champion=champion, challenger=challenger, margin=margin,
                 passed=not bool(rate_regressed(count_c, n_c, count_t, n_t, margin)),
                 detail=f"staging {challenger:.4f} ({count_t}/{n_t}) vs production {champion:.4f} ({count_c}/{n_c}), "
                        f"{challenger - champion:+.4f}, margin {margin}")


def _disparate_impact(groups: dict[str, GroupCount]) -> float | None:
    """As the gate's ``disparate_impact``: min/max over groups of the good-output rate; None with
    fewer than two groups or no good output."""
    rates = [g.good / g.n for g in groups.values() if g.n]
    if len(rates) < 2 or max(rates) == 0:
        return None
    return min(rates) / max(rates)


def _disparate_impact_guard(control: ArmStats, treatment: ArmStats, config: CanaryConfig) -> Guard:
    champion, challenger = _disparate_impact(control.groups), _disparate_impact(treatment.groups)
    rates = ", ".join(f"{name} {g.good / g.n:.2f} (n={g.n})" for name, g in sorted(treatment.groups.items()) if g.n)
    if challenger is None:
        return Guard(name="disparate_impact", champion=champion, challenger=None, margin=config.disparate_impact_min,
                     passed=True, detail=f"not measured: fewer than two groups or no good output ({rates or 'none'})")
    # The gate's rule: fails only under the four-fifths line and worse than production.
    passed = challenger >= config.disparate_impact_min or (champion is not None and challenger >= champion)
    return Guard(name="disparate_impact", champion=champion, challenger=challenger,
                 margin=config.disparate_impact_min, passed=passed,
                 detail=f"staging {challenger:.3f} vs production {'—' if champion is None else f'{champion:.3f}'} "
                        f"(minimum {config.disparate_impact_min}); staging good-output rate by "
                        f"{config.protected_attribute}: {rates}")


def guards(control: ArmStats, treatment: ArmStats, config: CanaryConfig) -> list[Guard]:
    found = [_rate_guard("refusal_rate", control.refusals, control.n, treatment.refusals, treatment.n,
                         config.refusal_margin),
             _rate_guard("pii_rate", control.pii, control.n, treatment.pii, treatment.n, config.pii_margin)]
    if config.protected_attribute:
        found.append(_disparate_impact_guard(control, treatment, config))
    return found


def _eligible(control: Moments, treatment: Moments, config: CanaryConfig) -> bool:
    return control.n >= config.min_samples and treatment.n >= config.min_samples


def _test(metric: str, control: Moments, treatment: Moments, alpha: float, config: CanaryConfig,
          running_p: float) -> tuple[Comparison, MetricTest]:
    comparison = compare(control, treatment, alpha=alpha, tau=config.mixture_sd)
    p_value = running_p
    if _eligible(control, treatment, config) and comparison.p_value is not None:
        p_value = min(running_p, comparison.p_value)
    ci = None if comparison.ci_low is None or comparison.ci_high is None else (comparison.ci_low, comparison.ci_high)
    return comparison, MetricTest(metric=metric, n_control=control.n, n_treatment=treatment.n,
                                  mean_control=control.mean, mean_treatment=treatment.mean,
                                  effect=comparison.effect, p_value=p_value, ci=ci, alpha=alpha)


def _interval(ci: tuple[float, float] | None) -> str:
    return "—" if ci is None else f"[{ci[0]:+.4f}, {ci[1]:+.4f}]"


def _limit(state: CanaryState, config: CanaryConfig, elapsed_hours: float | None, last: bool) -> str | None:
    n = state.control.n + state.treatment.n
    if n >= config.max_samples:
        return f"the maximum of {config.max_samples} interactions is reached ({n})"
    if elapsed_hours is not None and elapsed_hours >= config.max_hours:
        return f"the maximum duration of {config.max_hours:g} h is reached ({elapsed_hours:.1f} h)"
    if last:
        return f"the last look, after {n} interactions"
    return None


def _reason(code: int, quality: MetricTest, feedback: MetricTest | None, feedback_worse: bool, failed: list[Guard],
            limit: str | None, eligible: bool, config: CanaryConfig) -> str:
    effect = "—" if quality.effect is None else f"{quality.effect:+.4f}"
    numbers = f"quality effect {effect}, CI {_interval(quality.ci)}, p = {quality.p_value:.4g}"
    blocked = "; ".join(f"{g.name} regressed: {g.detail}" for g in failed)
    if code == ROLLBACK:
        if feedback_worse and feedback is not None:
            return (f"staging is rated worse: feedback effect {feedback.effect:+.4f}, CI {_interval(feedback.ci)} "
                    f"below 0, p = {feedback.p_value:.4g}")
        return f"staging is worse: {numbers}; the interval lies below 0"
    if code == PROMOTE:
        return f"staging is better: {numbers}; the interval lies above {config.min_effect} and no guard regressed"
    if not eligible:
        wait = f"each arm needs {config.min_samples} interactions (production {quality.n_control}, " \
               f"staging {quality.n_treatment})"
        return f"{limit}: {wait}" if limit else f"collecting: {wait}"
    if blocked:
        return f"{limit or 'waiting'}: quality is better ({numbers}) but {blocked}"
    return f"{limit}: {numbers}" if limit else f"undecided: {numbers}"


def look(state: CanaryState, config: CanaryConfig, *, elapsed_hours: float | None = None,
         last: bool = False) -> tuple[CanaryState, CanaryDecision]:
    """Look at the canary once: the updated state (looks, running p-values) and the decision.
    ``elapsed_hours`` is the canary's age (the caller knows the clock); ``last`` says no more
    interactions will come (a replay's end)."""
    control, treatment = state.control, state.treatment
    q_cmp, quality = _test("quality", control.quality, treatment.quality, config.quality_alpha, config, state.p_value)
    feedback: MetricTest | None = None
    feedback_worse = False
    feedback_p = state.feedback_p_value
    if control.feedback.n or treatment.feedback.n:
        f_cmp, feedback = _test("feedback", control.feedback, treatment.feedback, config.feedback_alpha, config,
                                state.feedback_p_value)
        feedback_p = feedback.p_value
        feedback_worse = (_eligible(control.feedback, treatment.feedback, config) and f_cmp.ci_high is not None
                          and f_cmp.ci_high < 0)
    found = guards(control, treatment, config)
    failed = [g for g in found if not g.passed]
    limit = _limit(state, config, elapsed_hours, last)
    eligible = _eligible(control.quality, treatment.quality, config)
    nan = float("nan")
    code = int(rule(eligible, nan if q_cmp.ci_low is None else q_cmp.ci_low,
                    nan if q_cmp.ci_high is None else q_cmp.ci_high, min_effect=config.min_effect,
                    guards_ok=not failed, feedback_worse=feedback_worse, at_limit=limit is not None))
    new_state = state.model_copy(update={"looks": state.looks + 1, "p_value": quality.p_value,
                                         "feedback_p_value": feedback_p})
    decision = CanaryDecision(
        canary_id=state.canary_id, decision=DECISIONS[code],
        reason=_reason(code, quality, feedback, feedback_worse, failed, limit, eligible, config),
        looks=new_state.looks, n_control=quality.n_control, n_treatment=quality.n_treatment,
        mean_control=quality.mean_control, mean_treatment=quality.mean_treatment, effect=quality.effect,
        p_value=quality.p_value, ci=quality.ci, alpha=config.quality_alpha, min_effect=config.min_effect,
        feedback=feedback, guards=found, config=config.model_dump(mode="json"))
    return new_state, decision
