"""Tokenisation shared by the reference metrics and the heuristics.

One definition of "a word" keeps token F1, repetition and relevance consistent with each other.
Everything here is plain regex/str work: it runs on every request.
"""
from __future__ import annotations

import functools
import re

_WORD = re.compile(r"\w+")
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
    return _WORD.findall(text.lower())


def normalize_text(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces: the form compared for equality."""
    return " ".join(w for w in words(_NON_WORD.sub(" ", text)) if w not in ARTICLES)


def collapse_spaces(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


@functools.lru_cache(maxsize=1 << 16)  # vocabulary repeats across requests; stemming is the hot spot
def stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if len(word) - len(suffix) >= 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_terms(text: str) -> list[str]:
    """Stemmed words that carry meaning: no stopwords, no single characters, no bare numbers."""
    return [stem(w) for w in words(text) if len(w) > 1 and w not in STOPWORDS and not w.isdigit()]
