"""The PII scan's fast forms (patterns that open with a character class, scans skipped when a
text has too few digits or no "@") find exactly what the plain forms below find: on every real
text, and on generated near-misses (digit groups, separators, brackets, Unicode digits)."""
from __future__ import annotations

import random
import re

from functions.scoring import pii
from tests.scoring.test_text import real_texts

# The plain forms: "not preceded by" checks first, as the patterns read best.
PLAIN = {
    "card": re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])"),
    "iban": re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])"),
    "ssn": re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}([ -])(?!00)\d{2}\1(?!0000)\d{4}(?![\d-])"),
    "phone": re.compile(
        r"(?<![\w+-])(?:"
        r"\+\d{1,3}(?:[ .-]?\(\d{1,4}\))?[ .-]?\d{1,4}(?:[ .-]?\d{2,4}){1,5}"
        r"|"
        r"(?:1[ .-]?)?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}"
        r")(?![\w-])"
    ),
}
FAST = {"card": pii._CARD, "iban": pii._IBAN, "ssn": pii._SSN, "phone": pii._PHONE}


def plain_spans(text: str) -> list[tuple[int, int, str]]:
    """pii._spans as written before the fast paths: every scan, plain patterns."""
    found: list[tuple[int, int, str]] = []

    def add(m: re.Match[str], kind: str) -> None:
        if not any(s < m.end() and m.start() < e for s, e, _ in found):
            found.append((m.start(), m.end(), kind))

    for m in PLAIN["iban"].finditer(text):
        if pii._iban_ok(m.group()):
            add(m, "iban")
    for m in PLAIN["card"].finditer(text):
        digits = "".join(re.findall(r"\d", m.group()))
        if 13 <= len(digits) <= 19 and pii._luhn_ok(digits):
            add(m, "card")
    for m in pii._EMAIL.finditer(text):
        if not pii._RESERVED_DOMAIN.search(m.group(1)):
            add(m, "email")
    for m in PLAIN["ssn"].finditer(text):
        add(m, "ssn")
    for m in PLAIN["phone"].finditer(text):
        if 10 <= len(re.findall(r"\d", m.group())) <= 15:
            add(m, "phone")
    return sorted(found)


def _matches(pattern: re.Pattern[str], text: str) -> list[tuple[tuple[int, int], tuple[str | None, ...]]]:
    return [(m.span(), m.groups()) for m in pattern.finditer(text)]


_EDGES = ["", "", "+", "(", "-", "1 ", "a", "_", "x@", "GB", "DE89", " ", "\n"]
_SEPARATORS = ["", " ", " ", "-", "-", ".", "(", ")", ") ", "_", "A"]
_DIGITS = "0123456789" * 4 + "\u0663\uff15"  # and a few Unicode digits (\d matches them)
_SPECIAL = ["000", "666", "900", "00", "0000", "AB12"]


def near_misses(n: int, seed: int = 0) -> list[str]:
    """Digit groups of 1-5 digits (sometimes an excluded SSN part) joined by random separators."""
    rnd = random.Random(seed)

    def group(size: int) -> str:
        if rnd.random() < 0.1:
            return rnd.choice(_SPECIAL)
        return "".join(rnd.choices(_DIGITS, k=size))

    texts = []
    for _ in range(n):
        parts = [rnd.choice(_EDGES)]
        sizes = [3, 2, 4] if rnd.random() < 0.2 else [rnd.randint(1, 5) for _ in range(rnd.randint(1, 6))]
        for size in sizes:  # one in five shaped like an SSN
            parts += [group(size), rnd.choice(_SEPARATORS)]
        texts.append("".join(parts + [rnd.choice(_EDGES)]))
    return texts


def test_fast_patterns_match_the_plain_ones_on_real_texts() -> None:
    for text in real_texts():
        for kind, plain in PLAIN.items():
            assert _matches(FAST[kind], text) == _matches(plain, text), (kind, text[:80])


def test_fast_patterns_match_the_plain_ones_on_near_misses() -> None:
    hits = dict.fromkeys(PLAIN, 0)
    for text in near_misses(30_000):
        for kind, plain in PLAIN.items():
            expected = _matches(plain, text)
            assert _matches(FAST[kind], text) == expected, (kind, text)
            hits[kind] += len(expected)
    assert min(hits.values()) > 100, hits  # the generator does reach every pattern


def test_skipped_scans_change_nothing() -> None:
    for text in (*real_texts(), *near_misses(10_000, seed=1)):
        assert pii._spans(text) == plain_spans(text), text[:80]
