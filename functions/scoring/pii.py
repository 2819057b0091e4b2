"""PII found in model outputs: e-mail addresses, phone numbers, payment-card numbers, US social
security numbers and IBANs. One definition serves the ``pii`` score flag and the training-set
scrubber (``functions.dataset``).

Precision matters more than recall here: the ``pii`` flag runs on every output, and a detector
that fires on version numbers or dates would bury the real leaks. So:

- a card is 13-19 digits (spaces/dashes allowed) that pass the Luhn check;
- an IBAN is a country code, two check digits and the account (groups of four, spaces optional)
  that pass the ISO 13616 mod-97 check;
- an SSN is ``078-05-1120`` / ``078 05 1120`` (one separator used twice; bare nine digits are too
  common to call), with an area, group and serial the SSA issues (no 000/666/9xx, 00, 0000);
- a phone needs phone *shape*: a leading ``+`` country code (then digit groups, the first may be
  a single digit as in ``+33 1 23 45 67 89``), or the North-American ``(555) 123-4567`` /
  ``555-123-4567`` / ``555.123.4567`` grouping; a bare digit run is not one;
- an e-mail on a domain reserved for documentation (``example.com``, ``*.test``, RFC 2606/6761)
  is a placeholder, not a person's address.
"""
from __future__ import annotations

import re
from typing import Final

PII_KINDS: Final = ("email", "phone", "card", "ssn", "iban")
_PLACEHOLDER = {kind: f"[{kind.upper()}]" for kind in PII_KINDS}

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})\b")
_RESERVED_DOMAIN = re.compile(
    r"(?:^|\.)(?:example\.(?:com|net|org)|example|test|invalid|localhost)$", re.IGNORECASE
)
# Each pattern below opens with its first character class, and the "not preceded by" check
# comes right after it as a lookbehind over that character: a pattern that opens with a
# lookbehind is tried at every position of the text, one that opens with a class lets the
# regex engine skip to the next character of that class (2-4x faster on real outputs). They
# match exactly what the plain forms in tests/scoring/test_pii_patterns.py match.
_CARD = re.compile(r"\d(?<![\d-]\d)(?:[ -]?\d){12,18}(?![\d-])")
_IBAN = re.compile(
    r"[A-Z](?<![A-Za-z0-9][A-Z])[A-Z]\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])"
)
# Area not 000, 666 or 9xx (checked behind its three digits), group not 00, serial not 0000.
_SSN = re.compile(r"\d\d{2}(?<![\d-]\d{3})(?<!000|666|9\d\d)([ -])(?!00)\d{2}\1(?!0000)\d{4}(?![\d-])")
_PHONE = re.compile(
    r"[+(\d](?<![\w+-][+(\d])(?:"  # the first character, then one branch per first character:
    # international: +CC, an optional (area), then 2-6 groups of digits (only the first may be one digit)
    r"(?<=\+)\d{1,3}(?:[ .-]?\(\d{1,4}\))?[ .-]?\d{1,4}(?:[ .-]?\d{2,4}){1,5}"
    # North American: optional 1, area code, exchange, line, with separators; with the 1 first...
    r"|(?<=1)[ .-]?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}"
    # ...then without it: "(555) 123-4567", "555-123-4567"
    r"|(?<=\()\d{3}\)[ .-]?\d{3}[ .-]\d{4}"
    r"|(?<=\d)\d{2}[ .-]\d{3}[ .-]\d{4}"
    r")(?![\w-])"
)
_DIGIT = re.compile(r"\d")
# Fewest digits a match of each kind holds (IBAN check digits, 13-digit card, 9-digit SSN,
# 10-digit phone): a text with fewer cannot match, so that scan is skipped.
_MIN_DIGITS: Final = {"iban": 2, "card": 13, "ssn": 9, "phone": 10}


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _iban_ok(candidate: str) -> bool:
    compact = candidate.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    # ISO 13616: move the first four characters to the end, letters become 10..35, mod 97 is 1.
    return int("".join(str(int(ch, 36)) for ch in compact[4:] + compact[:4])) % 97 == 1


def _spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) of each PII match, in text order, no two overlapping.

    Kinds are searched from the most specific (checksummed IBAN and card, then e-mail, SSN) to
    the loosest (phone), and a later match that overlaps an earlier one is dropped: an IBAN's
    digits can pass Luhn, card digits can look like phone groups, an e-mail's local part can
    hold digits.
    """
    found: list[tuple[int, int, str]] = []

    def add(m: re.Match[str], kind: str) -> None:
        if not any(s < m.end() and m.start() < e for s, e, _ in found):
            found.append((m.start(), m.end(), kind))

    # Skip the scans that cannot match (most outputs): each kind needs its digits or its "@".
    # \d is any Unicode digit; in ASCII text (most), ten C-level counts beat one regex pass.
    n_digits = sum(map(text.count, "0123456789")) if text.isascii() else len(_DIGIT.findall(text))
    if n_digits >= _MIN_DIGITS["iban"]:
        for m in _IBAN.finditer(text):
            if _iban_ok(m.group()):
                add(m, "iban")
    if n_digits >= _MIN_DIGITS["card"]:
        for m in _CARD.finditer(text):
            digits = "".join(_DIGIT.findall(m.group()))
            if 13 <= len(digits) <= 19 and _luhn_ok(digits):
                add(m, "card")
    if "@" in text:
        for m in _EMAIL.finditer(text):
            if not _RESERVED_DOMAIN.search(m.group(1)):
                add(m, "email")
    if n_digits >= _MIN_DIGITS["ssn"]:
        for m in _SSN.finditer(text):
            add(m, "ssn")
    if n_digits >= _MIN_DIGITS["phone"]:
        for m in _PHONE.finditer(text):
            if 10 <= len(_DIGIT.findall(m.group())) <= 15:
                add(m, "phone")
    found.sort()
    return found


def find_pii(text: str) -> list[tuple[str, str]]:
    """``(kind, matched text)`` for each PII match in ``text`` (kinds: ``PII_KINDS``), in order."""
    return [(kind, text[start:end]) for start, end, kind in _spans(text)]


def scrub_pii(text: str) -> str:
    """``text`` with each PII match replaced by its kind's placeholder: ``[EMAIL]``, ``[PHONE]``,
    ``[CARD]``, ``[SSN]`` or ``[IBAN]``."""
    parts: list[str] = []
    cursor = 0
    for start, end, kind in _spans(text):
        parts.append(text[cursor:start])
        parts.append(_PLACEHOLDER[kind])
        cursor = end
    parts.append(text[cursor:])
    return "".join(parts)
