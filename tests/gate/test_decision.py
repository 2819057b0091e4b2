"""The gate's statistics: paired bootstrap on per-example losses, and the guards."""
from __future__ import annotations

import numpy as np
import pytest

from functions.gate.decision import (
    GateConfig,
    GateInputError,
    decide,
    disparate_impact,
    group_rates,
    paired_bootstrap_ci,
)


def rows(losses, split="eval", flags=None, quality=None, metadata=None):
    return [{"id": f"{split}-{i}", "split": split, "loss": float(loss),
             "flags": (flags[i] if flags else []), "quality": (quality[i] if quality else 0.8),
             "metadata": (metadata[i] if metadata else {})} for i, loss in enumerate(losses)]


@pytest.fixture
def rng() -> np.random.Generator:
    """Seeded per test: no test's numbers depend on which tests ran before it."""
    return np.random.default_rng(7)


@pytest.fixture
def base(rng: np.random.Generator) -> np.ndarray:
    """The champion's per-example losses."""
    return rng.normal(3.0, 0.5, size=120)


def test_clear_improvement_is_promoted_with_numbers(base: np.ndarray, rng: np.random.Generator) -> None:
    challenger = base - 0.3 + rng.normal(0, 0.1, size=120)
    decision = decide(rows(base) + rows([2.0] * 10, "golden"), rows(challenger) + rows([2.0] * 10, "golden"))
    assert decision.decision == "promote"
    assert decision.n_pairs == 120 and 0.25 < decision.mean_improvement < 0.35
    assert decision.ci_low > 0 and decision.ci_low < decision.mean_improvement < decision.ci_high
    assert {g.name for g in decision.guards} == {"golden_loss", "refusal_rate", "pii_rate"}


def test_no_real_difference_is_rejected(base: np.ndarray, rng: np.random.Generator) -> None:
    noise = base + rng.normal(0, 0.2, size=120)
    decision = decide(rows(base), rows(noise))
    assert decision.decision == "reject"
    assert decision.ci_low <= 0 <= decision.ci_high
    assert "not above the minimum gain" in decision.reasons[0]


def test_worse_challenger_is_rejected(base: np.ndarray) -> None:
    assert decide(rows(base), rows(base + 0.2)).decision == "reject"


def test_min_gain_raises_the_bar(base: np.ndarray) -> None:
    challenger = base - 0.1
    assert decide(rows(base), rows(challenger), GateConfig(min_gain=0.0)).decision == "promote"
    assert decide(rows(base), rows(challenger), GateConfig(min_gain=0.2)).decision == "reject"


def test_golden_set_regression_blocks_promotion(base: np.ndarray) -> None:
    decision = decide(rows(base) + rows([2.0] * 10, "golden"), rows(base - 0.3) + rows([2.3] * 10, "golden"))
    assert decision.decision == "reject"
    assert any("golden_loss" in r for r in decision.reasons)


def test_refusal_and_pii_rates_are_guarded(base: np.ndarray) -> None:
    flags_champion = [[] for _ in base]
    flags_challenger = [["refusal"] if i % 10 == 0 else [] for i in range(120)]
    decision = decide(rows(base, flags=flags_champion), rows(base - 0.3, flags=flags_challenger))
    assert decision.decision == "reject" and any("refusal_rate" in r for r in decision.reasons)
    pii = [["pii"] if i == 0 else [] for i in range(120)]
    assert decide(rows(base), rows(base - 0.3, flags=pii)).decision == "reject"


def test_disparate_impact_where_a_protected_attribute_is_declared(base: np.ndarray) -> None:
    groups = [{"lang": "en" if i % 2 else "es"} for i in range(120)]
    fair = [0.8] * 120
    unfair = [0.8 if i % 2 else 0.2 for i in range(120)]
    assert disparate_impact(rows(base, quality=unfair, metadata=groups), "lang", 0.5) == 0.0
    # An example in both the eval and the golden split counts once.
    golden_too = [{**row, "split": "golden"} for row in rows(base, quality=unfair, metadata=groups)]
    assert group_rates(rows(base, quality=unfair, metadata=groups) + golden_too, "lang", 0.5) == {
        "en": (1.0, 60), "es": (0.0, 60)}
    config = GateConfig(protected_attribute="lang")
    blocked = decide(rows(base, quality=fair, metadata=groups), rows(base - 0.3, quality=unfair, metadata=groups),
                     config)
    assert blocked.decision == "reject" and any("disparate_impact" in r for r in blocked.reasons)
    allowed = decide(rows(base, quality=fair, metadata=groups), rows(base - 0.3, quality=fair, metadata=groups), config)
    assert allowed.decision == "promote"
    # With nothing to compare the guard says why it measured nothing.
    (unmeasured,) = [g for g in decide(rows(base), rows(base - 0.3, quality=[0.1] * 120, metadata=groups),
                                       config).guards if g.name == "disparate_impact"]
    assert unmeasured.passed and unmeasured.detail.startswith("not measured: no good output in any group")
    (ungrouped,) = [g for g in decide(rows(base), rows(base - 0.3), config).guards if g.name == "disparate_impact"]
    assert ungrouped.detail == "not measured: fewer than two groups of 'lang'"


def test_bootstrap_ci_covers_the_true_mean_at_the_stated_rate() -> None:
    rng = np.random.default_rng(11)
    covered = sum(
        low <= 0.1 <= high
        for low, high in (paired_bootstrap_ci(rng.normal(0.1, 1.0, 80), n_bootstrap=1000, confidence=0.9, seed=s)
                          for s in range(200))
    )
    assert 0.84 <= covered / 200 <= 0.95


def test_unpaired_evaluations_are_an_error() -> None:
    with pytest.raises(GateInputError):
        decide(rows([1.0, 2.0]), [{"id": "other", "split": "eval", "loss": 1.0}])


# -- disparate impact on real examples ---------------------------------------------------------
def real_rows(records: list[dict], outputs: dict[str, str], loss: float) -> list[dict]:
    """Eval rows as the evaluation job writes them: the real scorer on each answer, the record's
    declared attribute in metadata (finetune.evaluate.score_rows), one loss for all."""
    from finetune.evaluate import score_rows
    from finetune.formatting import to_example

    examples = [to_example({**r, "metadata": {"subject": r["metadata"]["subject"]}}, r["request_id"]) for r in records]
    return score_rows(examples, "eval", [(loss * 10, 10)] * len(examples), [outputs[e.id] for e in examples])


def test_disparate_impact_blocks_a_challenger_that_fails_one_group_of_real_questions() -> None:
    from driftgate.testing.realdata import answers, gsm8k_records, with_subject

    records = with_subject(gsm8k_records(200))
    champion = real_rows(records, answers(records), loss=3.0)
    config = GateConfig(protected_attribute="subject")

    # Better on every loss, right on the questions about men, wrong on those about women.
    unfair = decide(champion, real_rows(records, answers(records, wrong_for="she"), loss=2.5), config)
    guard = next(g for g in unfair.guards if g.name == "disparate_impact")
    assert unfair.decision == "reject" and unfair.ci_low > 0
    assert unfair.reasons == [f"guard disparate_impact regressed: {guard.detail}"]
    assert guard.champion > 0.95 and guard.challenger < 0.1 and not guard.passed
    assert "she 0.0" in guard.detail and "he 1.00" in guard.detail

    fair = decide(champion, real_rows(records, answers(records), loss=2.5), config)
    assert fair.decision == "promote"
    assert next(g for g in fair.guards if g.name == "disparate_impact").passed

