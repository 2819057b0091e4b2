"""``score()``: every metric for one interaction, plus one ``quality`` number in [0, 1].

quality = base x penalty

base, from what is known:

- reference that states an answer (GSM8K ``#### 42``, "The answer is ...", a short reference):
  ``0.7 exact_match + 0.15 token_f1 + 0.15 rouge_l``: the answer decides, overlap separates
  near misses;
- free-form reference (an essay-like answer): ``0.5 rouge_l + 0.3 token_f1 + 0.2 exact_match``
  (exact match is rarely 1 there, but an identical answer should score 1);
- no reference: ``0.5 + 0.5 min(1, relevance / RELEVANT_ENOUGH)`` (``relevance`` = cosine of
  prompt/output content-word counts; when the prompt is too short to judge, base = 1): without
  a reference the pack only knows what is wrong with an output, not how good it is.

penalty = product of the factors in ``PENALTIES`` for each raised flag (``empty`` -> 0), with two
exceptions when a reference exists: ``off_topic`` is not penalised (overlap with the reference
already measures topicality, and a bare "The answer is 18." shares no word with its prompt), and
neither is ``refusal`` when the reference refuses too (then refusing is the right answer).

``explain()`` answers the same score with how it was built (``QualityBreakdown``: each term's
weight and value, each raised flag's factor and whether it applied), from the one computation
``score()`` runs, so an explanation can never disagree with the scorer.

Every metric also appears in ``scores`` with its source: ``reference`` for the three
reference metrics, ``heuristic`` for the rest (feedback and judge scores are added elsewhere).
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from functions.scoring import heuristics as h
from functions.scoring.pii import find_pii
from functions.scoring.reference import reference_metrics
from functions.scoring.text import words

Source = Literal["heuristic", "reference", "feedback", "judge"]

Formula = Literal["answer", "free_form", "heuristic", "heuristic_unjudged"]
# Flag names, in the order they are reported.
FLAGS = ("empty", "truncated", "refusal", "repetition", "pii", "invalid_json", "off_topic")

PENALTIES: dict[str, float] = {
    "empty": 0.0,
    "refusal": 0.2,
    "invalid_json": 0.3,
    "repetition": 0.5,
    "off_topic": 0.6,
    "truncated": 0.6,
    # Leaking PII is a safety problem more than a quality one: a mild penalty, the flag matters.
    "pii": 0.8,
}
ANSWER_WEIGHTS = {"exact_match": 0.7, "token_f1": 0.15, "rouge_l": 0.15}
FREE_FORM_WEIGHTS = {"exact_match": 0.2, "token_f1": 0.3, "rouge_l": 0.5}
# Typical prompt/output cosine of a real on-topic answer; at or above it relevance adds fully.
RELEVANT_ENOUGH = 0.3


class Score(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    value: float
    source: Source


class Term(BaseModel):
    """One term of the base: ``weight x value`` (the heuristic base's constant is a term of value 1)."""

    model_config = ConfigDict(frozen=True)

    name: str
    weight: float
    value: float


class Penalty(BaseModel):
    """A raised flag and its factor; ``applied`` is False where a reference exempts it (then ``reason``)."""

    model_config = ConfigDict(frozen=True)

    flag: str
    factor: float
    applied: bool
    reason: str | None = None


class QualityBreakdown(BaseModel):
    """How ``quality`` was built: ``clip(sum of terms x product of applied factors, 0, 1)``."""

    model_config = ConfigDict(frozen=True)

    formula: Formula
    terms: list[Term]
    base: float
    penalties: list[Penalty]
    quality: float


class ScoreReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    exact_match: int | None
    token_f1: float | None
    rouge_l: float | None
    quality: float
    flags: list[str]
    scores: list[Score]

    def to_dict(self) -> dict:
        """JSON-ready dict (what the API returns per record)."""
        return self.model_dump(mode="json")


def _heuristic_terms(relevance: float | None) -> tuple[Formula, list[tuple[str, float, float]]]:
    if relevance is None:
        return "heuristic_unjudged", [("unjudged", 1.0, 1.0)]
    return "heuristic", [("floor", 0.5, 1.0), ("relevance_scaled", 0.5, min(1.0, relevance / RELEVANT_ENOUGH))]


def score(
    prompt: str,
    output: str,
    reference: str | None = None,
    expected_format: str | None = None,
) -> ScoreReport:
    """Score one interaction (see the module docstring for how ``quality`` is built)."""
    return _assess(prompt, output, reference, expected_format)[0]


def explain(
    prompt: str,
    output: str,
    reference: str | None = None,
    expected_format: str | None = None,
) -> tuple[ScoreReport, QualityBreakdown]:
    """The score and how its quality was built, from the same computation as ``score``."""
    report, formula, terms, base, exempt = _assess(prompt, output, reference, expected_format)
    penalties = [Penalty(flag=flag, factor=PENALTIES[flag], applied=flag not in exempt, reason=exempt.get(flag))
                 for flag in report.flags]
    return report, QualityBreakdown(formula=formula, terms=[Term(name=n, weight=w, value=v) for n, w, v in terms],
                                    base=base, penalties=penalties, quality=report.quality)


def _assess(
    prompt: str,
    output: str,
    reference: str | None,
    expected_format: str | None,
) -> tuple[ScoreReport, Formula, list[tuple[str, float, float]], float, dict[str, str]]:
    """(report, formula, base terms, base, flags exempt from their penalty with why)."""
    output = output or ""
    wants_json = (expected_format or "").lower() == "json"
    tokens = words(output)
    empty = h.is_empty(output)
    prose = h.prose(output)  # repetition ignores fenced code, which repeats legitimately
    prose_tokens = tokens if prose is output else words(prose)
    distinct_2 = h.distinct_n(prose_tokens, 2)
    longest_span = h.longest_repeated_span(prose_tokens)
    relevance = None if empty else h.relevance(prompt or "", output, tokens)
    pii = find_pii(output)
    raised = {
        "empty": empty,
        "truncated": not empty and h.is_truncated(output),
        "refusal": not empty and h.is_refusal(output, len(tokens)),
        "repetition": h.is_repetitive(prose_tokens, distinct_2, longest_span),
        "pii": bool(pii),
        "invalid_json": wants_json and not h.is_valid_json(output),
        "off_topic": relevance is not None and relevance < h.OFF_TOPIC_BELOW,
    }
    flags = [name for name in FLAGS if raised[name]]

    scores = [
        Score(name="output_words", value=len(tokens), source="heuristic"),
        Score(name="distinct_2", value=distinct_2, source="heuristic"),
        Score(name="longest_repeat", value=longest_span, source="heuristic"),
        Score(name="pii_count", value=len(pii), source="heuristic"),
    ]
    scores += [
        Score(name=name, value=float(raised[name]), source="heuristic")
        for name in ("empty", "truncated", "refusal", "repetition")
    ]
    if relevance is not None:
        scores.append(Score(name="relevance", value=relevance, source="heuristic"))
    if wants_json:
        json_valid = float(not raised["invalid_json"])
        scores.append(Score(name="json_valid", value=json_valid, source="heuristic"))

    em = f1 = rl = None
    exempt: dict[str, str] = {}
    if reference is not None:
        # Each text is tokenised once; every metric reads the same word lists.
        ref_answer, em, f1, rl = reference_metrics(output, reference, tokens, words(reference))
        formula: Formula = "free_form" if ref_answer is None else "answer"
        weights = FREE_FORM_WEIGHTS if ref_answer is None else ANSWER_WEIGHTS
        terms = [(name, weights[name], float(value)) for name, value in
                 (("exact_match", em), ("token_f1", f1), ("rouge_l", rl))]
        scores += [
            Score(name="exact_match", value=em, source="reference"),
            Score(name="token_f1", value=f1, source="reference"),
            Score(name="rouge_l", value=rl, source="reference"),
        ]
        if raised["off_topic"]:
            exempt["off_topic"] = "a reference exists: overlap with it already measures topicality"
        if raised["refusal"] and h.is_refusal(reference):
            exempt["refusal"] = "the reference refuses too: refusing is the right answer"
    else:
        formula, terms = _heuristic_terms(relevance)

    base = sum(weight * value for _name, weight, value in terms)
    quality = base
    for name in flags:
        if name not in exempt:
            quality *= PENALTIES[name]
    report = ScoreReport(
        exact_match=em,
        token_f1=f1,
        rouge_l=rl,
        quality=min(1.0, max(0.0, quality)),
        flags=flags,
        scores=scores,
    )
    return report, formula, terms, base, exempt
