"""Style descriptors of a text: markdown structure, sentence length, lexical diversity, numbers.

Two strong models answer the same question with the same meaning but a different house style
(one writes headings and bold labels, the other numbered lists); MiniLM embeds the meaning and
lengths barely move, so these counts are what a reader would point at. Each is one number per
text, compared by the detector with a permutation KS test like the lengths.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

_LIST_ITEM = re.compile(r"^\s*(?:[-*+\u2022]|\d+[.)])\s+\S", re.MULTILINE)
# A markdown heading, or a line that is one bold label ("**Summary:**"): how chat models head sections.
_HEADING = re.compile(r"^\s*(?:#{1,6}\s+\S|\*\*[^*\n]+\*\*:?\s*$)", re.MULTILINE)
_BOLD = re.compile(r"\*\*[^*\n]+\*\*")
_FENCE = re.compile(r"^\s*```", re.MULTILINE)
_SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)|\n+")
_WORD = re.compile(r"[^\W_]+")
DIVERSITY_WORDS = 50  # type-token ratio over the first 50 words: comparable across lengths


def _sentence_words(text: str) -> float:
    sentences = [s for s in _SENTENCE_END.split(text) if s.strip()]
    return float(np.mean([len(s.split()) for s in sentences])) if sentences else 0.0


def _diversity(text: str) -> float:
    words = [w.lower() for w in _WORD.findall(text)[:DIVERSITY_WORDS]]
    return len(set(words)) / len(words) if words else 0.0


def _digit_share(text: str) -> float:
    return sum(c.isdigit() for c in text) / len(text) if text else 0.0


def style_descriptors(texts: Sequence[str]) -> dict[str, np.ndarray]:
    """Per text: list items, headings, bold spans, fenced code blocks, mean words per sentence,
    type-token ratio of the first 50 words, share of digits among the characters."""
    return {
        "list_items": np.array([len(_LIST_ITEM.findall(t)) for t in texts], dtype=np.float64),
        "headings": np.array([len(_HEADING.findall(t)) for t in texts], dtype=np.float64),
        "bold": np.array([len(_BOLD.findall(t)) for t in texts], dtype=np.float64),
        "code_blocks": np.array([len(_FENCE.findall(t)) // 2 for t in texts], dtype=np.float64),
        "sentence_words": np.array([_sentence_words(t) for t in texts], dtype=np.float64),
        "diversity": np.array([_diversity(t) for t in texts], dtype=np.float64),
        "digits": np.array([_digit_share(t) for t in texts], dtype=np.float64),
    }
