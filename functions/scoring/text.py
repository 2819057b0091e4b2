"""Tokenisation shared by the reference metrics and the heuristics.

One definition of "a word" keeps token F1, repetition and relevance consistent with each other.
Everything here is plain regex/str work: it runs on every request.
"""
from __future__ import annotations

import re
from collections.abc import Callable

_WORD = re.compile(r"\w+")
# ASCII text (most) splits twice as fast with every non-word character blanked by str.translate.
_BLANK_NON_WORD = str.maketrans({i: " " for i in range(128) if not _WORD.fullmatch(chr(i))})
# The one character whose lower case depends on its neighbours (final sigma: "ΑΣ" -> "ας").
CAPITAL_SIGMA = "\u03a3"
_NON_WORD = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")

# SQuAD-style answer normalisation drops articles; they carry no content.
ARTICLES = frozenset({"a", "an", "the"})

# Function words ignored when judging whether an output talks about the prompt's subject.
STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each either else
    etc even ever every few for from further get gets got had has have having he her here hers
    herself him himself his how however i if in into is it its itself just let like make many
    may me might more most much must my myself need no nor not now of off on once one only or
    other our ours ourselves out over own please provide same say says she should so some
    such tell than that the their theirs them themselves then there these they thing things
    this those through to too under until up upon us use used using very want was way we well
    were what when where whether which while who whom whose why will with within without would
    write you your yours yourself yourselves give given
    """.split()
)

# Longest first, so "ational" is not cut as "al"; a crude stemmer is enough for overlap counts.
_SUFFIXES = ("ational", "ations", "ation", "ingly", "ness", "ment", "ings", "ing", "ies",
             "ied", "ers", "er", "ed", "ly", "es", "s")


def words(text: str) -> list[str]:
    """Lower-cased word tokens (letters, digits, underscore; Unicode-aware)."""
    lowered = text.lower()
    return lowered.translate(_BLANK_NON_WORD).split() if lowered.isascii() else _WORD.findall(lowered)


def normalize_text(text: str, tokens: list[str] | None = None) -> str:
    """Lower case, no punctuation, no articles, single spaces: the form compared for equality.

    ``tokens``, when given, must be ``words(text)``: the pack has them already. Blanking
    punctuation first cannot change the words (no punctuation lower-cases to a word character,
    tests/scoring/test_text.py checks every code point) except through CAPITAL_SIGMA ("ΑΣ'Α"
    lower-cases to "ασ'α", "ΑΣ Α" to "ας α"): then it is redone.
    """
    if tokens is None or CAPITAL_SIGMA in text:
        tokens = words(_NON_WORD.sub(" ", text))
    return " ".join([w for w in tokens if w not in ARTICLES])


def collapse_spaces(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


class Memo(dict[str, str]):
    """``fn`` of each word, remembered: ``list(map(memo.__getitem__, tokens))`` maps a whole text
    at C speed, about half the cost of an ``lru_cache`` call per token. Bounded: emptied when
    full (the vocabulary of real traffic fits many times over; this is not a leak)."""

    def __init__(self, fn: Callable[[str], str], maxsize: int = 1 << 16) -> None:
        super().__init__()
        self.fn, self.maxsize = fn, maxsize

    def __missing__(self, word: str) -> str:
        if len(self) >= self.maxsize:
            self.clear()
        value = self[word] = self.fn(word)
        return value


def stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if len(word) - len(suffix) >= 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _content_term(word: str) -> str:
    """``stem(word)``, or "" for a word that carries no meaning."""
    if len(word) > 1 and word not in STOPWORDS and not word.isdigit():
        return stem(word)
    return ""


_CONTENT_TERMS = Memo(_content_term)  # vocabulary repeats across requests; stemming is the hot spot


def content_terms(text: str, tokens: list[str] | None = None) -> list[str]:
    """Stemmed words that carry meaning: no stopwords, no single characters, no bare numbers.
    ``tokens``, when given, must be ``words(text)``."""
    # A kept word is over one character and stems to at least two: never "".
    terms = map(_CONTENT_TERMS.__getitem__, words(text) if tokens is None else tokens)
    return list(filter(None, terms))
