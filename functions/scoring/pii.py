"""PII found in model outputs: e-mail addresses, phone numbers and payment-card numbers.

Precision matters more than recall here: the ``pii`` flag runs on every output, and a detector
that fires on version numbers or dates would bury the real leaks. So:

- a card is 13-19 digits (spaces/dashes allowed) that pass the Luhn check;
- a phone needs phone *shape*: a leading ``+`` country code, or the North-American
  ``(555) 123-4567`` / ``555-123-4567`` / ``555.123.4567`` grouping; a bare digit run is not one;
- an e-mail on a domain reserved for documentation (``example.com``, ``*.test``, RFC 2606/6761)
  is a placeholder, not a person's address.
"""
from __future__ import annotations

import re
from typing import Final

PII_KINDS: Final = ("email", "phone", "card")
_PLACEHOLDER = {"email": "[EMAIL]", "phone": "[PHONE]", "card": "[CARD]"}

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})\b")
_RESERVED_DOMAIN = re.compile(
    r"(?:^|\.)(?:example\.(?:com|net|org)|example|test|invalid|localhost)$", re.IGNORECASE
)
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_PHONE = re.compile(
    r"(?<![\w+-])(?:"
    # international: +CC then 2-5 groups of digits
    r"\+\d{1,3}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]?\d{2,4}){2,5}"
    r"|"
    # North American: optional 1, area code, exchange, line, with separators
    r"(?:1[ .-]?)?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}"
    r")(?![\w-])"
)
_DIGIT = re.compile(r"\d")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) of each PII match, in text order, no two overlapping.

    Kinds are searched from the most specific (Luhn-checked card, then e-mail) to the loosest
    (phone), and a later match that overlaps an earlier one is dropped: card digits can look
    like phone groups, an e-mail's local part can hold digits.
    """
    found: list[tuple[int, int, str]] = []

    def add(m: re.Match[str], kind: str) -> None:
        if not any(s < m.end() and m.start() < e for s, e, _ in found):
            found.append((m.start(), m.end(), kind))

    for m in _CARD.finditer(text):
        digits = "".join(_DIGIT.findall(m.group()))
        if 13 <= len(digits) <= 19 and _luhn_ok(digits):
            add(m, "card")
    for m in _EMAIL.finditer(text):
        if not _RESERVED_DOMAIN.search(m.group(1)):
            add(m, "email")
    for m in _PHONE.finditer(text):
        if 10 <= len(_DIGIT.findall(m.group())) <= 15:
            add(m, "phone")
    found.sort()
    return found


def find_pii(text: str) -> list[tuple[str, str]]:
    """``(kind, matched text)`` for each e-mail, phone or card number in ``text``, in order."""
    return [(kind, text[start:end]) for start, end, kind in _spans(text)]


def scrub_pii(text: str) -> str:
    """``text`` with each PII match replaced by ``[EMAIL]``, ``[PHONE]`` or ``[CARD]``."""
    parts: list[str] = []
    cursor = 0
    for start, end, kind in _spans(text):
        parts.append(text[cursor:start])
        parts.append(_PLACEHOLDER[kind])
        cursor = end
    parts.append(text[cursor:])
    return "".join(parts)
