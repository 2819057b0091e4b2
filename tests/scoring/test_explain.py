"""``explain()``: the same score as ``score()`` with how its quality was built, on real records
(GSM8K with its answer key, AlpacaEval with its free-form reference and without one). The
breakdown recomposes the quality with the documented formula, names every raised flag, and
exempts only what the module docstring says a reference exempts."""
from __future__ import annotations

import math

import pytest

from driftgate.testing.realdata import answer_key
from functions.scoring import explain, score
from functions.scoring.pack import ANSWER_WEIGHTS, FREE_FORM_WEIGHTS, PENALTIES
from tests.conftest import ALPACA, GSM8K, read_records


def cases() -> list[tuple[str, str, str | None]]:
    gsm8k = [(r["prompt"], r["reference"], answer_key(r["reference"])) for r in read_records(*GSM8K, limit=40)]
    alpaca = read_records(*ALPACA, limit=60)
    return gsm8k + [(r["prompt"], r["output"], r["reference"]) for r in alpaca[:20]] + [
        (r["prompt"], r["output"], None) for r in alpaca]


def test_the_breakdown_recomposes_the_score_of_every_real_record() -> None:
    formulas = set()
    for prompt, output, reference in cases():
        formulas.add(check(prompt, output, reference))
    assert {"answer", "free_form", "heuristic"} <= formulas


def check(prompt: str, output: str, reference: str | None) -> str:
    report, breakdown = explain(prompt, output, reference)
    assert report == score(prompt, output, reference)
    assert breakdown.quality == report.quality
    base = sum(t.weight * t.value for t in breakdown.terms)
    assert breakdown.base == base
    factor = math.prod(p.factor for p in breakdown.penalties if p.applied)
    assert min(1.0, max(0.0, base * factor)) == pytest.approx(report.quality, abs=1e-12)
    assert [p.flag for p in breakdown.penalties] == report.flags
    assert all(p.factor == PENALTIES[p.flag] for p in breakdown.penalties)
    exempt = {p.flag for p in breakdown.penalties if not p.applied}
    if reference is None:
        assert breakdown.formula.startswith("heuristic") and not exempt
    else:
        weights = ANSWER_WEIGHTS if breakdown.formula == "answer" else FREE_FORM_WEIGHTS
        assert {t.name: t.weight for t in breakdown.terms} == weights
        assert {t.name: t.value for t in breakdown.terms} == {
            "exact_match": report.exact_match, "token_f1": report.token_f1, "rouge_l": report.rouge_l}
        assert exempt <= {"off_topic", "refusal"}
    return breakdown.formula
