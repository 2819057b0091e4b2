"""Reference-free checks: empty, truncated, refusal, repetition, JSON validity, relevance.

Each check is a cheap pass over the text (regexes compiled at import, no models) because it runs
for every interaction in the ingest path. Thresholds were set on the real AlpacaEval outputs so
that strong models' answers are almost never flagged (see tests/scoring).
"""
from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from itertools import repeat
from operator import mul

from functions.scoring.text import content_terms

# --- empty / truncated ------------------------------------------------------------------------

_HAS_WORD = re.compile(r"\w")
_FENCED_BLOCK = re.compile(r"^\s*```.*?^\s*```", re.DOTALL | re.MULTILINE)
_FENCE = re.compile(r"^\s*```", re.MULTILINE)
# Words no finished sentence ends on: an output stopping here was cut off. Prepositions are left
# out on purpose ("what we have hoped for", "what is it made of" are complete).
_DANGLING = frozenset("a an the and or but nor because than their its our your my very".split())
_CUT_OFF_CHARS = frozenset(",:([{")
# Characters that can close a finished text (sentence ends, quotes, brackets, Markdown, tables).
_CLOSING_CHARS = frozenset(".!?;\"'\u201d\u2019)]}*`_|>~")
_LIST_ITEM = re.compile(r"\s*(?:[-*+\u2022>#|]|\d+[.)])")
_SENTENCE_BREAK = re.compile(r"[.!?][\"'\u201d\u2019)]?\s")
# A last line this long without closing punctuation is a sentence that was cut, not a list item.
MIN_UNPUNCTUATED_WORDS = 8


def is_empty(output: str) -> bool:
    """Nothing but whitespace and punctuation ("", "  ", "..."); an all-emoji answer is content."""
    if _HAS_WORD.search(output):
        return False
    return all(ch.isspace() or unicodedata.category(ch).startswith("P") for ch in output)


def is_truncated(output: str) -> bool:
    """Looks cut off (e.g. by a max-token limit).

    Signals: an unclosed code fence; the text stops on a comma, colon or opening bracket, or on a
    word no sentence ends with ("... and the"); or, in punctuated prose, the last line is a
    sentence of several plain words with no closing punctuation. A missing full stop alone is not
    enough: list items, titles, poems, tables and code end without one, and a trailing emoji or
    hashtag closes a social-media post.
    """
    if "```" in output and len(_FENCE.findall(output)) % 2:
        return True
    tail = output.rstrip()
    if not tail:
        return False
    if tail.endswith(("...", "\u2026")):  # "and then..." is unfinished, "Stay tuned..." is style
        return _last_word(tail.rstrip(".\u2026 ")) in _DANGLING
    if tail[-1] in _CUT_OFF_CHARS:
        return True
    last_word = _last_word(tail)
    if last_word in _DANGLING:
        return True
    closes_post = unicodedata.category(tail[-1]) in ("So", "Sk") or last_word.startswith("#")
    if tail[-1] in _CLOSING_CHARS or closes_post:  # punctuation, or an emoji / hashtag sign-off
        return False
    # A cut sentence: the text writes punctuated prose, and its last line is a sentence of plain
    # words (not a list item, title, table row, URL or number) that never closes.
    head, _, last_line = tail.rpartition("\n")
    return (
        bool(_SENTENCE_BREAK.search(head or tail))
        and len(last_line.split()) >= MIN_UNPUNCTUATED_WORDS
        and not _LIST_ITEM.match(last_line)
        and last_word.replace("'", "").replace("-", "").isalpha()
    )


def _last_word(text: str) -> str:
    return text.rsplit(maxsplit=1)[-1].lower() if text.strip() else ""


# --- refusal ----------------------------------------------------------------------------------

_APOLOGY = (
    r"\b(?:I['’]m|I am)\s+(?:very\s+|really\s+|so\s+)?sorry,?\s+"
    r"(?:but\b|as an AI|I\s+(?:can|won|will not|am unable|am not able|must))"
)
_CANNOT = (
    r"\bI(?:\s+am|['’]m)?\s+(?:not able to|unable to|can\s*not|can['’]?t|won['’]?t|will not|"
    r"must decline to|(?:do not|don['’]t) feel comfortable)\s+(?:\w+\s+){0,3}?"
    r"(?:help|assist|provide|fulfil|comply|answer|do|complete|create|generate|write|engage|"
    r"support|share|give|offer|continue|browse|access|discuss|produce)\b"
)
_AS_AN_AI = (
    r"\bas an AI(?: language model| model| assistant)?,?\s+I\s+"
    r"(?:can\s*not|can['’]?t|am not able|am unable|won['’]?t|will not)\b"
)
_REFUSAL = re.compile(
    rf"{_APOLOGY}|{_CANNOT}|{_AS_AN_AI}|\bI\s+(?:apologi[sz]e|regret),?\s+but\b", re.IGNORECASE
)
# Where a refusal must appear: models refuse up front, then (if at all) offer an alternative.
REFUSAL_WINDOW_CHARS = 200
# A disclaimer ("As an AI I can't browse, but here is ...") followed by a real answer is not a
# refusal; an output that refuses and then says little more is.
REFUSAL_MAX_WORDS = 80


def is_refusal(output: str, n_words: int | None = None) -> bool:
    """Declines the request: a refusal phrase near the start of a short-ish answer."""
    if not _REFUSAL.search(output[:REFUSAL_WINDOW_CHARS]):
        return False
    if n_words is None:
        n_words = len(output.split())
    return n_words <= REFUSAL_MAX_WORDS


# --- repetition -------------------------------------------------------------------------------


def distinct_n(tokens: list[str], n: int = 2) -> float:
    """Unique n-grams / all n-grams (1.0 for texts shorter than n: nothing repeats)."""
    total = len(tokens) - n + 1
    if total <= 0:
        return 1.0
    return len(set(zip(*(tokens[i:] for i in range(n)), strict=False))) / total


SHORT_SPAN = 8  # up to this length, spans are compared as token tuples (exact, and faster)
_HASH_MOD = (1 << 61) - 1  # Mersenne prime: ~1e-13 chance that two distinct spans collide
_HASH_BASE = 1_000_003


def longest_repeated_span(tokens: list[str]) -> int:
    """Length in tokens of the longest span that occurs at least twice (occurrences may overlap).

    "Some span of length k repeats" is monotone in k. Up to SHORT_SPAN it is tested exactly on
    token tuples, by bisection (real outputs mostly repeat 2-6 tokens). Past it, gallop
    k = 2 x SHORT_SPAN, ... then bisect, each probe comparing rolling hashes of all k-grams, O(n)
    whatever k is: looping outputs, whose repeated span is hundreds of tokens long, cost no more
    than normal ones.
    """
    n = len(tokens)
    # repeats(lo) (or lo == 0) and not repeats(hi), except hi == SHORT_SPAN: untested until last.
    lo, hi = 0, min(SHORT_SPAN, n)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if repeats_exactly(tokens, mid):
            lo = mid
        else:
            hi = mid
    if hi < SHORT_SPAN or not repeats_exactly(tokens, SHORT_SPAN):
        return lo

    ids: dict[str, int] = {}
    codes = [ids.setdefault(tok, len(ids) + 1) for tok in tokens]
    prefix = [0]
    append, value = prefix.append, 0
    for code in codes:
        value = (value * _HASH_BASE + code) % _HASH_MOD
        append(value)

    def repeats(k: int) -> bool:
        shift = pow(_HASH_BASE, k, _HASH_MOD)
        grams = {(end - begin * shift) % _HASH_MOD for end, begin in zip(prefix[k:], prefix, strict=False)}
        return len(grams) < n - k + 1

    lo, hi = SHORT_SPAN, 2 * SHORT_SPAN  # once galloping stops: repeats(lo) and not repeats(hi)
    while hi < n and repeats(hi):
        lo, hi = hi, hi * 2
    hi = min(hi, n)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if repeats(mid):
            lo = mid
        else:
            hi = mid
    return lo


def repeats_exactly(tokens: list[str], k: int) -> bool:
    """Some k-gram of ``tokens`` occurs twice (C-level tuples: faster than hashing for short k)."""
    if k == 1:
        return len(set(tokens)) < len(tokens)
    return len(set(zip(*(tokens[i:] for i in range(k)), strict=False))) < len(tokens) - k + 1


# Degenerate looping: few distinct bigrams in a text long enough to judge...
MIN_TOKENS_FOR_REPETITION = 30
MIN_DISTINCT_2 = 0.5
# ...or one long span said twice that covers a large part of the text.
MIN_REPEATED_SPAN = 15
MIN_REPEATED_SHARE = 0.25


def prose(output: str) -> str:
    """The output without fenced code blocks: code repeats itself legitimately."""
    return _FENCED_BLOCK.sub(" ", output) if "```" in output else output


def is_repetitive(tokens: list[str], distinct_2: float, longest_span: int) -> bool:
    if len(tokens) < MIN_TOKENS_FOR_REPETITION:
        return False
    if distinct_2 < MIN_DISTINCT_2:
        return True
    return longest_span >= MIN_REPEATED_SPAN and 2 * longest_span >= MIN_REPEATED_SHARE * len(tokens)


# --- JSON -------------------------------------------------------------------------------------

# Models wrap JSON in a Markdown fence; the fence is packaging, the payload must parse.
_JSON_FENCE = re.compile(r"^\s*```[\w-]*\s*\n(.*?)\n\s*```\s*$", re.DOTALL)


def is_valid_json(output: str) -> bool:
    """The whole output (optionally inside one code fence) parses as a JSON object or array."""
    fenced = _JSON_FENCE.match(output)
    payload = fenced.group(1) if fenced else output
    try:
        value = json.loads(payload)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        return False
    # A bare string or number is valid JSON but not what "answer in JSON" asks for.
    return isinstance(value, (dict, list))


# --- relevance --------------------------------------------------------------------------------

# Below this many distinct content terms a text says too little to judge topicality: a prompt
# like "Continue", an answer like "The answer is 18."
MIN_TERMS = 3
# Below this an answer shares (almost) no content word with its prompt: 1.2% of real
# gpt4_1106_preview pairs (translations, paraphrases, poems), 85% of shuffled pairs.
OFF_TOPIC_BELOW = 0.03


def relevance(prompt: str, output: str, output_tokens: list[str] | None = None) -> float | None:
    """Cosine of content-term counts between prompt and output (idf-free, crude stemming).

    None when the prompt or the output has too few content terms to say anything.
    ``output_tokens``, when given, must be ``words(output)`` (the pack has them already).
    """
    p, o = Counter(content_terms(prompt)), Counter(content_terms(output, output_tokens))
    if len(p) < MIN_TERMS or len(o) < MIN_TERMS:
        return None
    # Integer sums, so the C-level map() forms give exactly what the loops would.
    dot = sum(map(mul, p.values(), map(o.get, p, repeat(0))))
    if not dot:
        return 0.0
    return dot / math.sqrt(sum(map(mul, p.values(), p.values())) * sum(map(mul, o.values(), o.values())))
