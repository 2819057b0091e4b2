"""Strict parsing of JSON request bodies. Python's json module is looser than JSON (RFC 8259):
it reads NaN and Infinity, turns escaped lone surrogates ("\\ud800") into strings that no UTF-8
encoder (boto3's included) can write, and fails on deep nesting or 4,300-digit integers with
errors that are not JSONDecodeError. Each of those would end as a 500; here each is a 400 that
names the problem."""
from __future__ import annotations

import json
import re
from typing import Any, NoReturn

from functions.common.exceptions import BadRequestError

# No number in this API needs more; DynamoDB itself stores at most 38 digits.
MAX_INT_DIGITS = 64
# A surrogate, escaped or raw: only then can the parsed strings hold a lone one.
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")


def _reject_constant(name: str) -> NoReturn:
    raise BadRequestError(f"request body is not valid JSON: {name} is not a JSON number")


def _bounded_int(literal: str) -> int:
    digits = len(literal.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise BadRequestError(f"request body has an integer of {digits} digits; at most {MAX_INT_DIGITS} are accepted")
    return int(literal)


def _require_unicode(value: Any, text: str) -> None:
    if not _SURROGATE.search(text):
        return
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as error:
        char = error.object[error.start]
        raise BadRequestError(f"request body has an unpaired UTF-16 surrogate (U+{ord(char):04X}) in a string; "
                              "text must be valid Unicode") from None


def parse_body(text: str) -> Any:
    """The Powertools resolver's body deserializer. JSONDecodeError passes through: Powertools
    turns it into the validation error that app.py answers with "not valid JSON"."""
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_int=_bounded_int)
    except RecursionError:
        raise BadRequestError("request body nests arrays or objects too deeply to parse") from None
    _require_unicode(value, text)
    return value
