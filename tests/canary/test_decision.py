"""The decision rules at one look: promote, rollback, inconclusive, continue; guards; feedback;
the running p-value; the decision object as stored."""
from __future__ import annotations

import numpy as np
import pytest

from functions.canary import ArmStats, CanaryConfig, CanaryDecision, CanaryState, GroupCount, Moments, look
from functions.gate.decision import GateConfig

CONFIG = CanaryConfig()


def moments(values) -> Moments:
    values = np.asarray(values, dtype=float)
    return Moments(n=len(values), total=float(values.sum()), total_sq=float((values**2).sum()))


def arm(mean: float, n: int, *, seed: int = 0, refusals: int = 0, pii: int = 0, feedback: Moments | None = None,
        groups: dict[str, GroupCount] | None = None) -> ArmStats:
    # Beta scores with the given mean (concentration 10): bounded, skewed like quality.
    values = np.random.default_rng(seed).beta(10 * mean, 10 * (1 - mean), n)
    return ArmStats(quality=moments(values), refusals=refusals, pii=pii, feedback=feedback or Moments(),
                    groups=groups or {})


def decide(control: ArmStats, treatment: ArmStats, config: CanaryConfig = CONFIG, **kwargs) -> CanaryDecision:
    return look(CanaryState(canary_id="c1").with_arms(control, treatment), config, **kwargs)[1]


def test_clearly_better_promotes_and_worse_rolls_back() -> None:
    better = decide(arm(0.3, 200, seed=1), arm(0.45, 200, seed=2))
    assert better.decision == "promote" and better.final
    assert better.ci is not None and better.ci[0] > CONFIG.min_effect and better.p_value <= CONFIG.quality_alpha
    assert better.reason.startswith("staging is better") and all(g.passed for g in better.guards)
    worse = decide(arm(0.45, 200, seed=1), arm(0.3, 200, seed=2))
    assert worse.decision == "rollback" and worse.ci is not None and worse.ci[1] < 0
    assert "staging is worse" in worse.reason


def test_no_decision_before_min_samples_even_with_a_huge_effect() -> None:
    d = decide(arm(0.1, 200), arm(0.9, CONFIG.min_samples - 1, seed=3))
    assert d.decision == "continue" and d.reason.startswith("collecting")
    assert d.p_value == 1.0  # the running p-value counts only looks with enough data
    assert d.ci is not None  # the interval is reported all the same


def test_an_effect_below_the_minimum_does_not_promote() -> None:
    # Significant but smaller than min_effect: keep watching, then inconclusive at the limit.
    control, treatment = arm(0.5, 20000, seed=4), arm(0.508, 20000, seed=5)
    config = CanaryConfig(min_effect=0.02, max_samples=100000)
    d = decide(control, treatment, config)
    assert d.ci is not None and 0 < d.ci[0] < config.min_effect and d.decision == "continue"
    assert decide(control, treatment, config, last=True).decision == "inconclusive"


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"config": CanaryConfig(max_samples=400)}, "maximum of 400 interactions"),
    ({"elapsed_hours": 200.0}, "maximum duration of 168 h"),
    ({"last": True}, "the last look"),
])
def test_limits_end_it_inconclusive(kwargs, reason) -> None:
    d = decide(arm(0.4, 200, seed=6), arm(0.4, 200, seed=7), **kwargs)
    assert d.decision == "inconclusive" and reason in d.reason
    assert decide(arm(0.4, 200, seed=6), arm(0.4, 200, seed=7), elapsed_hours=10.0).decision == "continue"


def test_a_refusal_or_pii_regression_blocks_the_promotion() -> None:
    control, better = arm(0.3, 200, seed=1, refusals=2, pii=0), arm(0.45, 200, seed=2)
    for extra, name in (({"refusals": 12}, "refusal_rate"), ({"pii": 1}, "pii_rate")):
        treatment = better.model_copy(update=extra)
        d = decide(control, treatment)
        assert d.decision == "continue" and f"{name} regressed" in d.reason
        failed = [g for g in d.guards if not g.passed]
        assert [g.name for g in failed] == [name]
        assert decide(control, treatment, last=True).decision == "inconclusive"
    # Within the gate's margin (refusals 0.02): promoted.
    assert decide(control, better.model_copy(update={"refusals": 5})).decision == "promote"
    # A guard never rolls back by itself: a better staging with more refusals is not retired.
    assert decide(control, better.model_copy(update={"refusals": 100})).decision == "continue"


def test_the_disparate_impact_guard_uses_the_gates_rule() -> None:
    config = CanaryConfig.from_settings(GateConfig(protected_attribute="subject"))
    fair = {"she": GroupCount(n=100, good=40), "he": GroupCount(n=100, good=44)}
    unfair = {"she": GroupCount(n=100, good=10), "he": GroupCount(n=100, good=60)}  # 1/6 < 0.8
    control = arm(0.3, 200, seed=1, groups=fair)
    d = decide(control, arm(0.45, 200, seed=2, groups=unfair), config)
    guard = next(g for g in d.guards if g.name == "disparate_impact")
    assert d.decision == "continue" and not guard.passed and guard.challenger == pytest.approx(1 / 6)
    assert decide(control, arm(0.45, 200, seed=2, groups=fair), config).decision == "promote"
    # Production as unfair as staging: not a regression (the gate's rule).
    assert decide(arm(0.3, 200, seed=1, groups=unfair), arm(0.45, 200, seed=2, groups=unfair),
                  config).decision == "promote"
    assert "disparate_impact" not in {g.name for g in decide(control, arm(0.45, 200, seed=2)).guards}


def test_feedback_rated_worse_rolls_back_even_when_quality_is_better() -> None:
    rng = np.random.default_rng(8)
    liked, disliked = moments(rng.random(300) < 0.8), moments(rng.random(300) < 0.5)  # thumbs → 1 / 0
    d = decide(arm(0.3, 400, seed=1, feedback=liked), arm(0.45, 400, seed=2, feedback=disliked))
    assert d.decision == "rollback" and d.reason.startswith("staging is rated worse")
    assert d.feedback is not None and d.feedback.ci is not None and d.feedback.ci[1] < 0
    assert d.feedback.alpha == pytest.approx(CONFIG.alpha * CONFIG.feedback_alpha_share)
    assert d.alpha + d.feedback.alpha == pytest.approx(CONFIG.alpha)  # the union bound
    # Too few ratings per arm: feedback does not decide.
    few = moments([0.0] * (CONFIG.min_samples - 1))
    assert decide(arm(0.3, 400, seed=1, feedback=liked), arm(0.45, 400, seed=2, feedback=few)).decision == "promote"
    assert decide(arm(0.3, 400, seed=1), arm(0.45, 400, seed=2)).feedback is None


def test_the_running_p_value_never_rises_and_looks_are_counted() -> None:
    rng = np.random.default_rng(9)
    state = CanaryState(canary_id="c2")
    p_values = []
    control, treatment = rng.beta(3, 7, 600), rng.beta(3.3, 6.7, 600)
    for n in range(40, 601, 40):
        state, d = look(state.with_arms(ArmStats(quality=moments(control[:n])),
                                        ArmStats(quality=moments(treatment[:n]))), CONFIG)
        p_values.append(d.p_value)
        assert d.looks == state.looks == n // 40
    assert p_values == sorted(p_values, reverse=True) and p_values[-1] < 1.0


def test_the_decision_round_trips_as_json_with_every_number() -> None:
    d = decide(arm(0.3, 200, seed=1), arm(0.45, 200, seed=2))
    stored = d.to_dict()
    for key in ("decision", "reason", "looks", "n_control", "n_treatment", "mean_control", "mean_treatment",
                "effect", "p_value", "ci", "alpha", "min_effect", "guards", "config", "canary_id"):
        assert key in stored
    assert CanaryDecision.model_validate(stored) == d
    assert stored["config"]["mixture_sd"] == CONFIG.mixture_sd


def test_settings_come_from_the_contract_and_the_gate(monkeypatch) -> None:
    monkeypatch.setenv("CANARY_ALPHA", "0.1")
    monkeypatch.setenv("CANARY_MIN_SAMPLES", "50")
    config = CanaryConfig.from_settings(GateConfig(refusal_margin=0.05, pii_margin=0.01))
    assert (config.alpha, config.min_samples, config.refusal_margin, config.pii_margin) == (0.1, 50, 0.05, 0.01)
    assert CanaryConfig().alpha == 0.05 and CanaryConfig().min_samples == 30
