"""Reference-free checks on real outputs, with failures planted into them."""
from __future__ import annotations

import json
import re
from collections import Counter
from statistics import mean

import pytest

from functions.scoring import heuristics as h
from functions.scoring import score
from functions.scoring.text import words
from tests.scoring.realdata import ALPACA, GPT4, MIXTRAL, alpaca, heuristic_reports

# --- refusal --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "record_id",
    ["gpt4_1106_preview:291", "gpt4_1106_preview:296", "gpt4_1106_preview:493", "alpaca-7b:315"],
)
def test_real_refusals_are_flagged(record_id: str) -> None:
    generator = record_id.split(":")[0]
    record = next(r for r in alpaca(generator) if r["id"] == record_id)
    assert "refusal" in score(record["prompt"], record["output"]).flags


@pytest.mark.parametrize(
    ("text", "refuses"),
    [
        ("I'm sorry, but I can't help with that.", True),
        ("As an AI language model I cannot browse the internet.", True),
        ("I am unable to provide medical advice. Please consult a doctor.", True),
        ("Sorry, I cannot in good conscience write that.", True),
        ("I apologize, but that request goes against my guidelines.", True),
        ("I'm sorry to hear that. Here are three things that usually help.", False),
        ("I'm so sorry I'm late! The traffic was terrible.", False),  # role-play, not a refusal
        ("I cannot stress enough how important sleep is.", False),
        ("As an AI, I don't have feelings, but here is how people usually describe joy.", False),
    ],
)
def test_refusal_phrases(text: str, refuses: bool) -> None:
    assert h.is_refusal(text) is refuses


def test_a_disclaimer_before_a_long_real_answer_is_not_a_refusal() -> None:
    answer = alpaca(GPT4)[0]["output"]
    assert not h.is_refusal("I'm sorry, but I can't list every actor. " + answer)
    assert h.is_refusal("I'm sorry, but I can't list every actor.")


# --- empty / truncated ----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\t\n", "...", " ?! "])
def test_empty(text: str) -> None:
    report = score("What is 2 + 2?", text, reference="4")
    assert report.flags[:1] == ["empty"] and report.quality == 0.0
    assert score("What is 2 + 2?", text).quality == 0.0


def test_an_emoji_answer_is_not_empty() -> None:
    record = next(r for r in alpaca(GPT4) if r["id"] == "gpt4_1106_preview:537")
    assert record["output"] == "🐱😺🐾🧶🧸"
    assert "empty" not in score(record["prompt"], record["output"]).flags


def _cut_after(text: str, marker: str) -> str | None:
    at = text.find(marker, len(text) // 3)
    return None if at < 0 else text[: at + len(marker)]


@pytest.mark.parametrize("marker", [" and the", ", ", " because", ":\n"])
def test_real_outputs_cut_mid_sentence_are_truncated(marker: str) -> None:
    cuts = [c for r in alpaca(GPT4) if (c := _cut_after(r["output"], marker))]
    assert len(cuts) > 30
    assert all(h.is_truncated(c) for c in cuts)


def test_real_outputs_cut_inside_a_code_block_are_truncated() -> None:
    fenced = [r["output"] for r in alpaca(GPT4) if r["output"].count("```") >= 2]
    assert len(fenced) > 50
    for output in fenced:
        start = output.index("```")
        end = output.index("```", start + 3)
        assert not h.is_truncated(output[: end + 3])  # fence closed
        assert h.is_truncated(output[: (start + end) // 2])  # fence open


def test_truncation_recall_at_a_word_limit_is_partial_but_real() -> None:
    # Cut every long answer at its 100th word, like a max-token limit. Only some cuts show
    # (measured 47%: dangling word, comma, open fence, unclosed prose sentence); the rest stop
    # at a plausible sentence or line end.
    cuts = []
    for r in alpaca(GPT4):
        spans = list(re.finditer(r"\S+", r["output"]))
        if len(spans) > 120:
            cuts.append(r["output"][: spans[100].end()])
    recall = mean(h.is_truncated(c) for c in cuts)
    assert 0.35 < recall < 0.8


# --- repetition -----------------------------------------------------------------------------


def test_looping_real_output_is_repetitive() -> None:
    # A model stuck in a loop: after its real answer it repeats the first sentence until the
    # token budget is spent (here: as many words again as the answer had).
    looped_outputs = 0
    for r in alpaca(MIXTRAL)[::20]:
        output = r["output"]
        sentence = re.split(r"(?<=[.!?])\s", output.strip())[0]
        if len(words(sentence)) < 5:
            continue
        looped = output + ("\n" + sentence) * (len(words(output)) // len(words(sentence)))
        tokens, looped_tokens = words(output), words(looped)
        assert h.distinct_n(looped_tokens) < h.distinct_n(tokens)
        assert h.longest_repeated_span(looped_tokens) > h.longest_repeated_span(tokens)
        assert "repetition" not in score(r["prompt"], output).flags
        assert "repetition" in score(r["prompt"], looped).flags
        looped_outputs += 1
    assert looped_outputs > 25


def test_degenerate_token_loop() -> None:
    text = "The answer is " + "very " * 60 + "good."
    assert h.distinct_n(words(text)) < 0.1
    assert "repetition" in score("Is it good?", text).flags


def test_longest_repeated_span_and_distinct_n() -> None:
    assert h.longest_repeated_span("a b c x a b c".split()) == 3
    assert h.longest_repeated_span("a a a a".split()) == 3  # occurrences may overlap
    assert h.longest_repeated_span("all different".split()) == 0
    assert h.distinct_n("a b a b".split(), 2) == pytest.approx(2 / 3)
    assert h.distinct_n(["a"], 2) == 1.0


def test_code_repeating_itself_is_not_repetition() -> None:
    code = "```python\n" + "x = compute(x)\nprint(x)\n" * 20 + "```"
    assert "repetition" not in score("Show the loop unrolled.", "Here it is:\n" + code + "\nDone.").flags


# --- JSON -----------------------------------------------------------------------------------


def test_json_validity() -> None:
    record = alpaca(GPT4)[3]
    payload = json.dumps({"prompt": record["prompt"], "answer": record["output"]})
    for text in (payload, f"```json\n{payload}\n```", "[1, 2, 3]"):
        report = score("Answer in JSON.", text, expected_format="json")
        assert "invalid_json" not in report.flags
        assert any(s.name == "json_valid" and s.value == 1.0 for s in report.scores)
    for text in (payload[:-10], record["output"], f"Sure! Here it is: {payload}", '"just a string"'):
        report = score("Answer in JSON.", text, expected_format="json")
        assert "invalid_json" in report.flags
        assert any(s.name == "json_valid" and s.value == 0.0 for s in report.scores)
    # No JSON expected: not checked, not reported.
    plain = score("Say hi.", "hi")
    assert "invalid_json" not in plain.flags and all(s.name != "json_valid" for s in plain.scores)


# --- relevance ------------------------------------------------------------------------------


@pytest.mark.parametrize("generator", [GPT4, ALPACA])
def test_relevance_is_higher_for_real_pairs_than_for_mismatched_ones(generator: str) -> None:
    records = alpaca(generator)
    shifted = records[7:] + records[:7]  # each output paired with another instruction's prompt
    real = [h.relevance(r["prompt"], r["output"]) for r in records]
    mismatched = [h.relevance(r["prompt"], s["output"]) for r, s in zip(records, shifted, strict=True)]
    real_mean = mean(v for v in real if v is not None)
    mismatched_mean = mean(v for v in mismatched if v is not None)
    # Measured: ~0.40 for real pairs, ~0.02 for mismatched ones.
    assert real_mean > 0.3 and mismatched_mean < 0.1
    wins = [a > b for a, b in zip(real, mismatched, strict=True) if a is not None and b is not None]
    assert mean(wins) > 0.9
    off_topic_mismatched = mean(v < h.OFF_TOPIC_BELOW for v in mismatched if v is not None)
    off_topic_real = mean(v < h.OFF_TOPIC_BELOW for v in real if v is not None)
    assert off_topic_mismatched > 0.5 and off_topic_real < 0.05


def test_relevance_needs_enough_words() -> None:
    assert h.relevance("Continue", "Once upon a time there was a dragon.") is None
    assert h.relevance("How many eggs does Janet sell?", "18") is None


# --- false-positive storm -------------------------------------------------------------------


def test_flag_rates_on_strong_model_outputs_are_low() -> None:
    reports = heuristic_reports(GPT4)
    rate = {flag: n / len(reports) for flag, n in Counter(f for r in reports for f in r.flags).items()}
    # Measured on the 805 gpt4_1106_preview outputs: refusal 3 (all real refusals), pii 3,
    # truncated 1 (a real cut-off), repetition 1, empty 0, off_topic 9 (translations, paraphrases).
    assert rate.get("refusal", 0) <= 0.01
    assert rate.get("pii", 0) <= 0.01
    assert rate.get("empty", 0) == 0
    assert rate.get("truncated", 0) <= 0.01
    assert rate.get("repetition", 0) <= 0.01
    assert rate.get("off_topic", 0) <= 0.03
    assert mean(r.quality for r in reports) > 0.9
