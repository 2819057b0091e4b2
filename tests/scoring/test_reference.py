"""Reference metrics on GSM8K: final-answer extraction, exact match, token F1, ROUGE-L."""
from __future__ import annotations

import pytest

from functions.scoring import extract_final_answer, score
from functions.scoring.reference import exact_match, rouge_l, token_f1
from tests.scoring.realdata import gsm8k


def test_extracts_the_number_after_hashes_from_every_gsm8k_reference() -> None:
    records = gsm8k()
    assert len(records) == 1319
    for r in records:
        stated = r["reference"].rsplit("####", 1)[1].strip().replace(",", "")
        assert extract_final_answer(r["reference"]) == stated, r["id"]


# Model-style answers to real GSM8K questions, checked by hand against the reference answer.
# (index in gsm8k/test.jsonl, output, reference answer, does it match?)
HAND_CHECKED = [
    (0, "The answer is 18.", "18", 1),
    (0, "So she makes $18 every day.", "18", 1),
    (0, "She sells 16 - 3 - 4 = 9 eggs, so she makes 9 * 2 = $18.00 every day.", "18", 1),
    (1, "It takes 2 + 1 = 3 bolts in total.", "3", 1),
    (1, "The answer is 2.5 bolts.", "3", 0),
    (2, "He made a profit of 200,000 - 130,000 = $70,000.", "70000", 1),
    (2, "The answer is $130,000, since that is what the house cost him.", "70000", 0),
    (3, "3 sprints * 3 times * 60 meters = 540 meters", "540", 1),
    (4, "Answer: 20 cups", "20", 1),
    (5, "Kylar needs to pay 16 * 5 = 80 dollars.", "64", 0),
    (7, "The final answer is \\boxed{160}", "160", 1),
    (8, "After those 4 hours he is 45 miles from home.", "45", 1),
    (10, "The total is 60 + 180 + 126 = 366.0 downloads", "366", 1),
    (12, "It will take 12 years before he starts earning money.", "13", 0),
    (467, "Each room has 2 + 1 + 4 + 8 = 15 pieces, so 80 * 15 = 1,200 dollars", "1200", 1),
    (1113, "2 - 8 + 3 = -3, so it was -3 degrees Celsius in the morning.", "-3", 1),
    (1113, "It was 3 degrees Celsius in the morning.", "-3", 0),
]


@pytest.mark.parametrize(("index", "output", "answer", "match"), HAND_CHECKED)
def test_exact_match_on_hand_checked_gsm8k_answers(index: int, output: str, answer: str, match: int) -> None:
    record = gsm8k()[index]
    assert extract_final_answer(record["reference"]) == answer
    report = score(record["prompt"], output, record["reference"])
    assert report.exact_match == match
    # The answer decides quality for answer-style references: a match always beats a miss.
    assert (report.quality >= 0.7) == bool(match)


def test_hand_checked_sample_has_both_outcomes() -> None:
    matches = [m for *_, m in HAND_CHECKED]
    assert 0 < sum(matches) < len(matches)


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("#### 1,000", "1000"),
        ("The answer is $1,200.00.", "1200"),
        ("Half of it: 3/4 of a cup", "0.75"),
        ("It rose by 25%.", "25"),
        ("The capital is Paris. The answer is Paris.", "paris"),
        ("Paris", "paris"),
        ("Some long prose with no number and no stated answer in it at all.", None),
        ("", None),
        ("Version 1.2.3 was released on 2023-10-15", "15"),  # last number wins, whatever it is
    ],
)
def test_extract_final_answer_normalises(text: str, answer: str | None) -> None:
    assert extract_final_answer(text) == answer


def test_free_form_reference_means_same_text_not_same_last_number() -> None:
    reference = "There are many options. For example, 3 apples and 5 pears make a nice snack."
    assert exact_match("Eat 5 cookies.", reference) == 0
    assert exact_match("there are many options for example 3 apples and 5 pears make a nice snack", reference) == 1


def test_token_f1_and_rouge_l_on_a_real_reference() -> None:
    reference = gsm8k()[0]["reference"]
    assert token_f1(reference, reference) == pytest.approx(1.0)
    assert rouge_l(reference, reference) == 1.0
    assert token_f1("", reference) == 0.0 and rouge_l("", reference) == 0.0
    partial = "Janet sells 9 duck eggs a day and makes $18 every day."
    assert 0.2 < token_f1(partial, reference) < 0.9
    assert 0.2 < rouge_l(partial, reference) < 0.9
    # Word order matters to ROUGE-L (longest common subsequence), not to bag-of-words F1.
    shuffled = " ".join(reversed(partial.split()))
    assert token_f1(shuffled, reference) == pytest.approx(token_f1(partial, reference))
    assert rouge_l(shuffled, reference) < rouge_l(partial, reference)
