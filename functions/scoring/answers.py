"""Final-answer extraction: what a model output or a reference states as its answer.

One set of rules for outputs and references alike (the rules, their sources and measured effect
are in docs/scoring.md). Answers come back normalised, so two answers match when the strings are
equal: numbers lose currency signs, thousands commas, ``%`` and a zero fraction
(``"$1,200.00"`` -> ``"1200"``), fractions become decimals (``"3/4"`` -> ``"0.75"``); text answers
are lower-cased without punctuation or articles. Where an answer is stated, first found wins:

1. GSM8K's ``#### 18`` (last one; only a number may follow, as on an answer line below:
   ``#### For the Dough`` and ``#### 1. Prepare the Dough`` are Markdown headings);
2. MATH's ``\\boxed{18}`` / ``\\fbox{18}`` (last one, nested braces allowed);
3. the last line, when it is an answer line: ``A: 18``, ``Answer: 18``, ``Final answer: 18``,
   ``The (final) answer is 18``, a bold number (``**$18**``), or only a number, possibly with a
   currency or a unit of at most three words (``$18.00``, ``540 meters``);
4. elsewhere, the last "Answer: ..." / "the answer is ..." that begins with a number (a text
   answer there is too often prose: "the answer is no. GPT-3 is ...").

"answer" is a marker only where it opens a line or a sentence or follows the/my/our: "This
answer is incorrect." gives no answer. After a marker, the answer is the sentence's leading number
after its last "=" ("9 * 2 = $18" -> 18); on the last line also a text of at most five words.

``extract_final_answer`` (outputs) then falls back to the last number in the text (how GSM8K
outputs are usually graded), then to the whole text when it is short. ``reference_answer`` falls
back only to a short reference ("Paris"): a long reference without a stated answer is free-form
prose, and the last numbers of two essays are noise.

Everything is regex work compiled at import: it runs on every ingested interaction.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from functions.scoring.text import normalize_text, words

# A reference this short is itself the answer ("18", "Paris", "New York City"); so is an answer
# phrase this short ("The answer is (D) Prescreening.").
SHORT_ANSWER_WORDS = 5
# Words a bare number may carry on an answer line: "18 dollars", "5 square feet", "$2 per egg".
MAX_UNIT_WORDS = 3

_CALCULATOR = re.compile(r"<<[^<>]*>>")  # GSM8K's "<<9*2=18>>" annotations, not part of the text

# A number as people write it: -3, 1,200, $18, -$5, $-5, 0.5, .5, 3/4, 25%. Groups: sign, sign, number.
_NUMBER_BODY = (r"([-\u2212])?(?:[$\u20ac\u00a3\u00a5\u20b9]\s?)?([-\u2212])?"
                r"((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:/\d+)?|\.\d+)(?!,?\d)%?")
# Anywhere in a text: not a digit run inside a word, a version string or a date.
_NUMBER = re.compile(r"(?<![\w.,/])" + _NUMBER_BODY)
# At the start of an answer phrase, after opening brackets and Markdown emphasis.
_LEADING_NUMBER = re.compile(r"[\s(\[*_`]*" + _NUMBER_BODY)
_UNIT_WORD = re.compile(r"[^\W\d][\w/\u00b0.'-]*")

_HASH_ANSWER = re.compile(r"####[ \t]*([^\n]*)")
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
# "Answer: 18", "Final answer: 18", "**Answer:** 18", "The (final) answer is 18" ...
_ANSWER_PHRASE = re.compile(
    r"\banswer[\s*_]*(?:(?:is|was|would be|will be)\b|:|=)[\s*_]*:?\s*([^\n]*)", re.IGNORECASE
)
# ... where "answer" opens a line or a sentence, or follows the/my/our (and "final"): "This answer is
# incorrect." judges an answer, it gives none. Checked behind each match: the same alternation
# inside _ANSWER_PHRASE would be tried at every character of every text, 4x slower.
_OPENER_CHARS = " \t*_>#-"
_DETERMINER = re.compile(r"\b(?:the|my|our)$", re.IGNORECASE)
# "A: 18" only as the last line: inside a text "A:" is as often a FAQ's answer to a "Q:".
_A_LINE = re.compile(r"^[\s*_]*A[\s*_]*:[\s*_]*(.*)$")
_BOLD = re.compile(r"\*\*([^*\n]+)\*\*")
_SENTENCE_END = re.compile(r"[.!?;](?:\s|$)")
_EMPHASIS = re.compile(r"\*\*|__|`")
_LIST_ITEM = re.compile(r"\s*(?:[-*+\u2022]\s|\d+[.)]\s)")  # "* 2 large eggs" is an ingredient, not an answer
_TRAILING = re.compile(r"[\s.!,;:*_`)\]]+$")
# LaTeX inside \boxed{}: text wrappers, spacing and escaped signs (MATH writes "1,\!000", "\$5").
_LATEX_TEXT = re.compile(r"\\(?:text|textbf|mathrm|mbox)\s*\{([^{}]*)\}")
_LATEX_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_LATEX_NOISE = re.compile(r"\\[!,;: ]|\\left|\\right|\^\s*\{?\\circ\}?|\{,\}")
_LATEX_ESCAPED = re.compile(r"\\([$%])")


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
    # Integral values print without a fraction ("18.00" -> "18"), others without trailing zeros.
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def _numbers(text: str) -> list[str]:
    found = (_normalize_number(m.group(1) or m.group(2), m.group(3)) for m in _NUMBER.finditer(text))
    return [n for n in found if n is not None]


def _leading_number(phrase: str) -> tuple[str, str] | None:
    """(normalised number, rest of the phrase) when ``phrase`` begins with a number."""
    m = _LEADING_NUMBER.match(phrase)
    if m is None:
        return None
    number = _normalize_number(m.group(1) or m.group(2), m.group(3))
    return None if number is None else (number, phrase[m.end():])


def _phrase_answer(phrase: str, allow_text: bool) -> str | None:
    """The answer a phrase after a marker gives: its first sentence's leading number (the value
    after the last "=": "9 * 2 = $18" states 18), else, if ``allow_text``, the sentence itself
    when it is short."""
    sentence = _SENTENCE_END.split(phrase, maxsplit=1)[0]
    value = sentence.rsplit("=", 1)[-1]
    number = _leading_number(value)
    if number is not None:
        return number[0]
    if allow_text and 0 < len(words(value)) <= SHORT_ANSWER_WORDS:
        return normalize_text(value) or None
    return None


def _number_line(line: str) -> str | None:
    """The number of a line that is only a number, with at most a currency and a short unit."""
    number = None if _LIST_ITEM.match(line) else _leading_number(line)
    if number is None:
        return None
    rest = _TRAILING.sub("", number[1]).split()
    if len(rest) <= MAX_UNIT_WORDS and all(_UNIT_WORD.fullmatch(w) for w in rest):
        return number[0]
    return None


def _boxed_content(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` (braces balanced, as MATH's graders read it)."""
    starts = list(_BOXED.finditer(text))
    if not starts:
        return None
    begin = starts[-1].end()
    depth = 1
    for i in range(begin, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[begin:i]
    return None  # unclosed: cut off before the answer ended


def _boxed_answer(content: str) -> str | None:
    content = _LATEX_TEXT.sub(r" \1 ", content)
    content = _LATEX_FRAC.sub(r"\1/\2", content)
    content = _LATEX_ESCAPED.sub(r"\1", _LATEX_NOISE.sub("", content))
    number = _leading_number(content.rsplit("=", 1)[-1])
    if number is not None:
        return number[0]
    return normalize_text(content) or None  # "\boxed{\text{(B)}}": boxed text is an answer too


def _answer_phrases(text: str) -> list[str]:
    """What follows each answer marker that opens a line or sentence or follows the/my/our."""
    # Most texts hold no "answer": a substring test (casefold: what IGNORECASE matches for these
    # letters, "ſ" included) skips the regex, which would be tried at every position.
    if "answer" not in text.casefold():
        return []
    phrases = []
    for m in _ANSWER_PHRASE.finditer(text):
        line_start = text.rfind("\n", 0, m.start()) + 1
        head = text[max(line_start, m.start() - 24):m.start()].rstrip(_OPENER_CHARS)
        if head[-5:].lower() == "final":
            head = head[:-5].rstrip(_OPENER_CHARS)
        at_line_start = not head and m.start() - line_start <= 24
        if at_line_start or head.endswith((".", "!", "?")) or _DETERMINER.search(head):
            phrases.append(m.group(1))
    return phrases


def _last_line_answer(line: str) -> str | None:
    a_line = _A_LINE.match(line)
    if a_line:
        return _phrase_answer(a_line.group(1), allow_text=True)
    phrases = _answer_phrases(line)
    if phrases:
        return _phrase_answer(phrases[-1], allow_text=True)
    for bold in reversed(_BOLD.findall(line)):
        number = _number_line(bold)
        if number is not None:
            return number
    return _number_line(_EMPHASIS.sub("", line))


def stated_answer(text: str) -> str | None:
    """The answer ``text`` states explicitly (rules 1-4 of the module docstring), else None."""
    return _stated(_CALCULATOR.sub("", text))


def _stated(text: str) -> str | None:
    for phrase in reversed(_HASH_ANSWER.findall(text)):
        number = _number_line(phrase)
        if number is not None:
            return number
    boxed = _boxed_content(text)
    if boxed is not None:
        answer = _boxed_answer(boxed)
        if answer is not None:
            return answer
    answer = _last_line_answer(text.rstrip().rpartition("\n")[2])
    if answer is not None:
        return answer
    for phrase in reversed(_answer_phrases(text)):
        answer = _phrase_answer(phrase, allow_text=False)
        if answer is not None:
            return answer
    return None


def _is_short(text: str) -> bool:
    return 0 < len(words(text)) <= SHORT_ANSWER_WORDS


def extract_final_answer(text: str) -> str | None:
    """The final answer of an output: stated, else its last number, else the text when short."""
    text = _CALCULATOR.sub("", text)
    stated = _stated(text)
    if stated is not None:
        return stated
    numbers = _numbers(text)
    if numbers:
        return numbers[-1]
    return (normalize_text(text) or None) if _is_short(text) else None


def reference_answer(reference: str, tokens: list[str] | None = None) -> str | None:
    """The answer a reference states, or the reference itself when short; None for prose.
    ``tokens``, when given, must be ``words(reference)``."""
    stated = stated_answer(reference)
    if stated is not None:
        return stated
    n_words = len(words(reference) if tokens is None else tokens)
    return extract_final_answer(reference) if 0 < n_words <= SHORT_ANSWER_WORDS else None
