"""Reference-based metrics: final-answer exact match, token F1 and ROUGE-L.

``extract_final_answer`` returns the answer in a normalised form, so two answers match when the
strings are equal: numbers lose ``$``, thousands commas, ``%`` and a zero fraction
(``"$1,200.00"`` -> ``"1200"``), fractions become decimals (``"3/4"`` -> ``"0.75"``), text
answers are lower-cased without punctuation or articles. Where the answer is found, in order:

1. GSM8K's ``#### 42`` (last one);
2. LaTeX ``\\boxed{42}``;
3. "the (final) answer is ..." / "Answer: ..." (last one; the first number in that sentence,
   else the sentence itself);
4. the last number in the text (how GSM8K outputs are usually graded);
5. the whole text when it is short (a bare "Paris" reference), else ``None``.

Exact match only compares extracted answers when the *reference* states one (a marker of 1-3, or
a short reference). A long free-form reference (an AlpacaEval answer) has no single answer, so
there exact match means "same text after normalisation"; comparing the last numbers of two essays
would be noise.
"""
from __future__ import annotations

import functools
import re
from collections import Counter
from decimal import Decimal, InvalidOperation

from nltk.stem import porter
from rouge_score import rouge_scorer, tokenize, tokenizers

from functions.scoring.text import ARTICLES, normalize_text, words

# ROUGE-L is an O(n*m) dynamic programme in pure Python (~0.25 us per cell): cap both sides so one
# huge output cannot stall the request path. 1024 tokens leaves >99% of the real outputs whole.
MAX_ROUGE_TOKENS = 1024
# A reference this short is itself the answer ("18", "Paris", "New York City").
SHORT_ANSWER_WORDS = 5

_CALCULATOR = re.compile(r"<<[^<>]*>>")  # GSM8K's "<<9*2=18>>" annotations, not part of the text
_HASH_ANSWER = re.compile(r"####\s*([^\n]+)")
_BOXED = re.compile(r"\\boxed\{([^{}]*)\}")
_ANSWER_IS = re.compile(
    r"\b(?:final\s+)?answer\s*(?:(?:is|was|would be|will be)\b|:|=)\s*:?\s*([^\n]+)", re.IGNORECASE
)
_SENTENCE_END = re.compile(r"[.!?;](?:\s|$)")
# A number as people write it: -3, 1,200, $18, 0.5, 3/4, 25%. Not a digit run inside a word.
_NUMBER = re.compile(
    r"(?<![\w.,/])(-|\u2212)?\$?\s?((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:/\d+)?)(?!,?\d)%?"
)


def _normalize_number(sign: str | None, body: str) -> str | None:
    body = body.replace(",", "")
    try:
        if "/" in body:
            num, den = body.split("/")
            value = Decimal(num) / Decimal(den)
        else:
            value = Decimal(body)
    except (InvalidOperation, ZeroDivisionError):
        return None
    if sign:
        value = -value
    # Integral values print without a fraction ("18.0" -> "18"), others without trailing zeros.
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def _numbers(text: str) -> list[str]:
    found = (_normalize_number(m.group(1), m.group(2)) for m in _NUMBER.finditer(text))
    return [n for n in found if n is not None]


def _normalize_answer(phrase: str) -> str | None:
    """The first number in ``phrase`` if any, else the phrase as normalised text."""
    numbers = _numbers(phrase)
    if numbers:
        return numbers[0]
    return normalize_text(phrase) or None


def _marked_answer(text: str) -> str | None:
    """An answer the text states explicitly (####, \\boxed{}, "the answer is"), else None."""
    hashes = _HASH_ANSWER.findall(text)
    if hashes:
        return _normalize_answer(hashes[-1])
    boxed = _BOXED.findall(text)
    if boxed:
        return _normalize_answer(boxed[-1])
    stated = _ANSWER_IS.findall(text)
    if stated:
        sentence = _SENTENCE_END.split(stated[-1], maxsplit=1)[0]
        return _normalize_answer(sentence)
    return None


def _is_short(text: str) -> bool:
    return 0 < len(words(text)) <= SHORT_ANSWER_WORDS


def extract_final_answer(text: str) -> str | None:
    """The final answer of ``text``, normalised (see the module docstring), or None."""
    text = _CALCULATOR.sub("", text)
    marked = _marked_answer(text)
    if marked is not None:
        return marked
    numbers = _numbers(text)
    if numbers:
        return numbers[-1]
    return normalize_text(text) if _is_short(text) else None


def reference_answer(reference: str) -> str | None:
    """The answer a reference states (marker or short reference); None for free-form prose."""
    reference = _CALCULATOR.sub("", reference)
    marked = _marked_answer(reference)
    if marked is not None:
        return marked
    return extract_final_answer(reference) if _is_short(reference) else None


def exact_match(output: str, reference: str) -> int:
    """1 when the output's final answer equals the reference's (for a free-form reference: when
    the normalised texts are equal), else 0."""
    return answers_match(output, reference, reference_answer(reference))


def answers_match(output: str, reference: str, ref_answer: str | None) -> int:
    """``exact_match`` with ``reference_answer(reference)`` already computed (the pack needs it
    twice: for the match and to pick the quality weights)."""
    if ref_answer is None:
        return int(normalize_text(output) == normalize_text(reference))
    return int(extract_final_answer(output) == ref_answer)


def token_f1(output: str, reference: str) -> float:
    """SQuAD-style bag-of-words F1 (lower-cased, no punctuation, no articles)."""
    out = [w for w in words(output) if w not in ARTICLES]
    ref = [w for w in words(reference) if w not in ARTICLES]
    if not out or not ref:
        return float(out == ref)
    common = sum((Counter(out) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(out), common / len(ref)
    return 2 * precision * recall / (precision + recall)


class _CappedTokenizer(tokenizers.Tokenizer):
    """rouge-score's own tokenizer and Porter stemmer, truncated to MAX_ROUGE_TOKENS.

    Stemming is a third of ROUGE-L's cost outside the LCS table and the same words recur across
    requests, so stems are memoised.
    """

    def __init__(self) -> None:
        self._stemmer = porter.PorterStemmer()
        self._stemmer.stem = functools.lru_cache(maxsize=1 << 16)(self._stemmer.stem)

    def tokenize(self, text: str) -> list[str]:
        return tokenize.tokenize(text, self._stemmer)[:MAX_ROUGE_TOKENS]


# Built once at import: the scorer holds the stemmer and is reused by every call.
_ROUGE = rouge_scorer.RougeScorer(["rougeL"], tokenizer=_CappedTokenizer())


def rouge_l(output: str, reference: str) -> float:
    """ROUGE-L F-measure from the ``rouge-score`` library (stemmed, as usually reported)."""
    if output == reference:  # the LCS of a text with itself is the text: skip the O(n^2) table
        return 1.0 if output.strip() else 0.0
    return float(_ROUGE.score(reference, output)["rougeL"].fmeasure)
