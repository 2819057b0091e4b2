"""Reference metrics: final-answer extraction (GSM8K, MATH and chat formats), exact match, token F1, ROUGE-L."""
from __future__ import annotations

import pytest

from functions.scoring import extract_final_answer, score
from functions.scoring.answers import SHORT_ANSWER_WORDS, reference_answer, stated_answer
from functions.scoring.reference import exact_match, rouge_l, token_f1
from tests.scoring.realdata import GPT4, alpaca, gsm8k


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


# --- answer formats (functions/scoring/answers.py; rules in docs/scoring.md) ---------------------
# Real text wherever /work/shared/data has the format: each snippet is asserted to occur in its
# record, so an edit of the data cannot leave a test quoting text that is no longer there.


def _record(generator: str, index: int) -> dict:
    return alpaca(generator)[index]


def _worked(index: int, final_line: str) -> str:
    """GSM8K reference ``index`` with its ``#### N`` line written as ``final_line`` (``{}`` = N):
    real reasoning lines, the answer stated in another format."""
    body, answer = gsm8k()[index]["reference"].rsplit("\n#### ", 1)
    return f"{body}\n{final_line.format(answer)}"


def _answer(record: dict) -> str:
    return record["reference"].rsplit("####", 1)[1].strip().replace(",", "")


# The formats of the issue, as final lines of every real GSM8K worked solution. Only `####` is in
# the data; "A: N" is how the human-labelled GSM8K model solutions (openai/grade-school-math,
# example_model_solutions.jsonl) end, e.g. "...every day at the farmer's market.\nA: 18"; the others
# are minimal versions of what MATH (\boxed{}) and chat models (bold, "Final answer:") write.
FINAL_LINES = [
    "#### {}", "A: {}", "Answer: {}", "Final answer: {}", "**Final Answer:** {}", "The answer is {}.",
    "The final answer is {}.", "So the answer is $\\boxed{{{}}}$.", "**{}**", "{}", "${}", "{} dollars",
]


@pytest.mark.parametrize("final_line", FINAL_LINES)
def test_every_worked_gsm8k_reference_states_its_answer_in_each_format(final_line: str) -> None:
    for index, record in enumerate(gsm8k()):
        text = _worked(index, final_line)
        assert reference_answer(text) == extract_final_answer(text) == _answer(record), (record["id"], text[-80:])


def test_a_worked_reference_without_an_answer_line_states_none() -> None:
    # The reasoning alone (real GSM8K lines) ends in a sentence, not an answer line: prose.
    body = gsm8k()[0]["reference"].rsplit("\n#### ", 1)[0]
    assert body.endswith("She makes 9 * 2 = $<<9*2=18>>18 every day at the farmer’s market.")
    assert reference_answer(body) is None
    assert extract_final_answer(body) == "18"  # an *output* still falls back to its last number


def test_no_essay_like_reference_states_an_answer() -> None:
    """GPT-4-turbo's 805 AlpacaEval answers are the references there: beyond the short ones
    ("Yes.", "Test") none states an answer, whatever Markdown headings or "the answer is" it has."""
    stating = [r["id"] for r in alpaca(GPT4) if reference_answer(r["reference"]) is not None
               and len(r["reference"].split()) > SHORT_ANSWER_WORDS]
    assert stating == []


@pytest.mark.parametrize(
    ("generator", "index", "snippet"),
    [
        # Markdown level-4 headings, not GSM8K answers (before: "for dough", "8").
        (GPT4, 9, "#### For the Dough:\n- 500 g (4 cups) all-purpose flour"),
        (GPT4, 586, "#### Step 1: Prepare the Beer Can"),
        # "answer" judged or described, not given.
        (GPT4, 442, "The final answer is presented to the user in a comprehensible and user-friendly format."),
        ("Mixtral-8x7B-Instruct-v0.1", 563, "Answer 2: This answer is incorrect."),
        ("Mixtral-8x7B-Instruct-v0.1", 700, 'with the string "Answer is:" printed before each number.'),
        # A FAQ's "A:" is an answer to a question, but a sentence, not a final answer.
        ("Mixtral-8x7B-Instruct-v0.1_verbose", 721, "A: Yes, you can walk instead of run if you prefer."),
    ],
)
def test_real_lines_that_look_like_markers_state_no_answer(generator: str, index: int, snippet: str) -> None:
    record = _record(generator, index)
    assert snippet in record["output"]
    assert stated_answer(snippet) is None


@pytest.mark.parametrize(
    ("generator", "index", "snippet", "answer"),
    [
        ("Mixtral-8x7B-Instruct-v0.1_verbose", 144, "The answer is (D) Prescreening.", "d prescreening"),
        ("alpaca-7b", 294, "answer: hello!", "hello"),
        ("Mixtral-8x7B-Instruct-v0.1_verbose", 422, "the answer is no.", "no"),
    ],
)
def test_real_text_answers_after_a_marker(generator: str, index: int, snippet: str, answer: str) -> None:
    assert snippet in _record(generator, index)["output"]
    assert stated_answer(snippet) == answer


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        # \boxed{} is absent from the data: MATH-style minimal examples (nested braces, LaTeX).
        ("Thus, the total is $\\boxed{18}$.", "18"),
        ("$\\boxed{\\frac{3}{4}}$", "0.75"),
        ("\\boxed{-\\dfrac{1}{2}}", "-0.5"),
        ("\\boxed{1,\\!200}", "1200"),
        ("\\boxed{\\$18.00}", "18"),
        ("\\boxed{50\\%}", "50"),
        ("\\boxed{x = 5}", "5"),
        ("\\boxed{\\text{(B)}}", "b"),
        ("\\boxed{7} is wrong; the answer is \\boxed{9}.", "9"),  # the last box
    ],
)
def test_boxed_answers(text: str, answer: str) -> None:
    assert stated_answer(text) == answer


@pytest.mark.parametrize(
    ("index", "line", "answer"),
    [
        (611, "So the total cost was 1,350,000+100,000=$<<1350000+100000=1450000>>1,450,000", "1450000"),
        (489, "The average highest temperature recorded in Southlandia, Northlandia, and Midlandia is "
              "-10 degrees Fahrenheit.", "-10"),
        (12, "He makes $10.5 selling lemons each year because 7 x 1.5 = <<7*1.5=10.5>>10.5", "10.5"),
        (201, "So the raise is worth .05*104,000=$<<.05*104000=5200>>5200", "5200"),
        (14, "This is 12/20 x 100% = 60% of the entire students.", "60"),
        (319, "The fraction representing the number of wires required to connect the neighborhood's "
              "electricity is <<3/4=3/4>>3/4", "0.75"),
    ],
)
def test_numbers_in_real_gsm8k_lines(index: int, line: str, answer: str) -> None:
    """Thousands separators, negative signs, decimals, percentages and fractions as GSM8K writes them."""
    assert line in gsm8k()[index]["reference"]
    assert extract_final_answer(line) == answer


def test_equal_numbers_written_differently_match() -> None:
    reference = gsm8k()[0]["reference"]  # ... #### 18
    for output in ("A: 18.00", "The answer is $18.", "**$18**", "18.0 dollars", "\\boxed{18}"):
        assert exact_match(output, reference) == 1, output
    assert exact_match("A: 180", reference) == 0 and exact_match("A: -18", reference) == 0
    negative = gsm8k()[1113]["reference"]  # ... #### -3
    for output in ("A: \u22123", "It was -3 degrees Celsius.", "\\boxed{-3}", "-$3.00", "$-3"):
        assert exact_match(output, negative) == 1, output
    assert exact_match("A: 3", negative) == 0
    assert exact_match("A: 0.5", _worked(0, "A: 1/2")) == 1


def test_gsm8k_references_match_their_own_question_and_not_others() -> None:
    """The labelled check: a GSM8K worked solution used as the output is an exact match for its own
    question and for no question whose answer differs; ditto in the labelled set's "A: N" form."""
    records = gsm8k()
    answers = [_answer(r) for r in records]
    n = len(records)
    for i in range(n):
        own = records[i]["reference"]
        as_a_line = _worked(i, "A: {}")
        assert exact_match(own, own) == 1 and exact_match(as_a_line, own) == 1 and exact_match(own, as_a_line) == 1
        for j in ((i + 1) % n, (i + 17) % n, (i + 331) % n):
            other = records[j]["reference"]
            expected = int(answers[i] == answers[j])
            assert exact_match(other, own) == expected and exact_match(other, as_a_line) == expected, (i, j)
    # Different worked solutions that reach the same number match: the labelled set's "correct"
    # solutions are exactly this case, which whole-text comparison got wrong.
    by_answer: dict[str, list[int]] = {}
    for i, a in enumerate(answers):
        by_answer.setdefault(a, []).append(i)
    pairs = [(ids[0], ids[1]) for ids in by_answer.values() if len(ids) > 1]
    assert len(pairs) > 100
    assert all(exact_match(records[j]["reference"], _worked(i, "A: {}")) == 1 for i, j in pairs)
