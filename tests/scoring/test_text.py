"""The tokeniser's fast paths give exactly what the regex definitions give (every code point
where a claim is per character, every real text otherwise)."""
from __future__ import annotations

import re
import sys
from functools import cache

from driftgate.testing.realdata import ALPACA_EVAL_GENERATORS
from functions.scoring import answers
from functions.scoring.text import ARTICLES, STOPWORDS, Memo, content_terms, normalize_text, stem, words
from tests.scoring.realdata import alpaca, gsm8k

_WORD = re.compile(r"\w+")
_NON_WORD = re.compile(r"[^\w\s]")


@cache
def real_texts() -> tuple[str, ...]:
    rows = [r for g in ALPACA_EVAL_GENERATORS for r in alpaca(g)] + gsm8k()
    return tuple({t: None for r in rows for t in (r["prompt"], r["output"], r["reference"]) if t})


@cache
def every_code_point() -> str:
    return "".join(map(chr, range(sys.maxunicode + 1)))


def test_no_punctuation_lower_cases_to_a_word_character() -> None:
    # Why normalize_text may reuse words(text) instead of blanking punctuation first.
    punctuation = _NON_WORD.findall(every_code_point())
    assert len(punctuation) > 1000
    assert not [c for c in punctuation if _WORD.search(c.lower())]


def test_normalize_text_from_the_tokens_equals_normalize_text() -> None:
    for text in real_texts():
        assert normalize_text(text, words(text)) == normalize_text(text)
    for text in ("ΑΣ'Α", "ΟΔΥΣΣΕΥΣ’ ship", "The cat's hat.", "a_b-c"):  # capital sigma: redone from the text
        expected = " ".join(w for w in _WORD.findall(_NON_WORD.sub(" ", text).lower()) if w not in ARTICLES)
        assert normalize_text(text, words(text)) == normalize_text(text) == expected
    assert words("ΑΣ'Α") != words("ΑΣ Α")  # the context that makes the sigma rule necessary


def test_words_ascii_fast_path_equals_the_regex() -> None:
    ascii_chars = "".join(map(chr, range(128)))
    assert words(ascii_chars) == _WORD.findall(ascii_chars.lower())
    for text in (*real_texts(), ascii_chars * 3, "A_b\x1c c\x1fd\te\u212a"):  # \x1c-\x1f: str.split() spaces
        assert words(text) == _WORD.findall(text.lower())


def test_content_terms_equal_their_definition() -> None:
    for text in real_texts()[:3000]:
        expected = [stem(w) for w in words(text) if len(w) > 1 and w not in STOPWORDS and not w.isdigit()]
        assert content_terms(text) == content_terms(text, words(text)) == expected


def test_memo_is_bounded() -> None:
    memo = Memo(str.upper, maxsize=2)
    assert list(map(memo.__getitem__, ["a", "b", "a", "c", "d"])) == ["A", "B", "A", "C", "D"]
    assert len(memo) <= 2


def test_answer_prefilter_sees_what_ignorecase_matches() -> None:
    # answers._answer_phrases skips texts whose casefold lacks "answer": every character the
    # IGNORECASE regex takes for one of those letters must casefold to that letter.
    for letter in "answer":
        matching = re.findall(letter, every_code_point(), re.IGNORECASE)
        assert {c.casefold() for c in matching} == {letter}, letter
    assert answers._answer_phrases("The ANſWER is: 18") == ["18"]
