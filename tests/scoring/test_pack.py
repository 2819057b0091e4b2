"""The public report: its shape, and whether ``quality`` ranks real models the way it should."""
from __future__ import annotations

import json
from statistics import mean

import pytest
from pydantic import ValidationError

from benchmarks.agreement import agreement, judged
from functions.scoring import Score, ScoreReport, score
from functions.scoring.pack import FLAGS, PENALTIES
from tests.scoring.realdata import ALPACA, CONCISE, GPT4, MIXTRAL, alpaca, gsm8k, scored_sample

# --- shape ----------------------------------------------------------------------------------


def test_report_without_reference() -> None:
    record = alpaca(MIXTRAL)[5]
    report = score(record["prompt"], record["output"])
    assert isinstance(report, ScoreReport)
    assert report.exact_match is None and report.token_f1 is None and report.rouge_l is None
    assert {s.source for s in report.scores} == {"heuristic"}
    assert 0.0 <= report.quality <= 1.0
    data = report.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert set(data) == {"exact_match", "token_f1", "rouge_l", "quality", "flags", "scores"}
    assert data["rouge_l"] is None
    assert all(set(s) == {"name", "value", "source"} for s in data["scores"])


def test_report_with_reference_labels_each_metric_by_source() -> None:
    record = gsm8k()[0]
    report = score(record["prompt"], "She makes 9 * 2 = $18 every day.", record["reference"])
    assert report.exact_match == 1
    by_name = {s.name: s for s in report.scores}
    for name in ("exact_match", "token_f1", "rouge_l"):
        assert by_name[name].source == "reference"
        assert by_name[name].value == pytest.approx(getattr(report, name))
    assert by_name["output_words"].source == "heuristic" and by_name["output_words"].value == 7
    assert len(by_name) == len(report.scores)  # each metric once


def test_report_is_frozen() -> None:
    report = score("Say hi.", "Hi!")
    with pytest.raises(ValidationError):
        report.quality = 1.0
    with pytest.raises(ValidationError):
        Score(name="x", value=1.0, source="guess")  # type: ignore[arg-type]  # not a source, on purpose


def test_every_flag_has_a_penalty_and_flags_come_in_order() -> None:
    assert set(PENALTIES) == set(FLAGS)
    text = "I'm sorry, but I can't help with that. Write to jane.roe@gmail.com and"
    report = score("Help me write a cover letter.", text)
    assert report.flags == ["truncated", "refusal", "pii"]
    assert report.quality < PENALTIES["refusal"]


def test_quality_is_in_range_on_real_outputs() -> None:
    for generator in (GPT4, MIXTRAL, ALPACA):
        for _, report in scored_sample(generator):
            assert 0.0 <= report.quality <= 1.0
            assert report.exact_match in (0, 1)
            assert 0.0 <= report.rouge_l <= 1.0 and 0.0 <= report.token_f1 <= 1.0


# --- quality on AlpacaEval ------------------------------------------------------------------


def _means(generator: str) -> tuple[float, float]:
    reports = [rep for _, rep in scored_sample(generator)]
    return mean(r.quality for r in reports), mean(r.rouge_l for r in reports)


def test_weak_model_scores_below_strong_models_against_the_reference() -> None:
    gpt4_quality, gpt4_rouge = _means(GPT4)
    mixtral_quality, mixtral_rouge = _means(MIXTRAL)
    alpaca_quality, alpaca_rouge = _means(ALPACA)
    # gpt4_1106_preview *is* the reference, so it scores ~1: a sanity check, not a contest.
    assert gpt4_quality > 0.95 and gpt4_rouge == 1.0
    assert alpaca_quality < gpt4_quality and alpaca_rouge < gpt4_rouge
    # The fair test: two independent models against the same reference.
    assert alpaca_quality < mixtral_quality and alpaca_rouge < mixtral_rouge
    # Same instruction, both models: Mixtral's answer usually scores higher.
    wins = [m.quality > a.quality for (_, m), (_, a) in zip(scored_sample(MIXTRAL), scored_sample(ALPACA), strict=True)]
    assert mean(wins) > 0.6


def test_quality_agrees_with_the_judge() -> None:
    rows = [(r, rep) for g in (CONCISE, ALPACA) for r, rep in scored_sample(g)]
    kept = judged(r for r, _ in rows)
    qualities = {r["id"]: rep.quality for r, rep in rows}
    result = agreement(kept, [qualities[r["id"]] for r in kept])
    # Full data (python -m benchmarks.agreement): Spearman 0.39, pairwise accuracy 0.86.
    assert result.n_records > 350 and result.n_pairs > 100
    assert result.spearman > 0.25
    assert result.pairwise_accuracy > 0.75
