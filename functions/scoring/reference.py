"""Reference-based metrics: final-answer exact match, token F1 and ROUGE-L.

Exact match compares extracted answers (``functions.scoring.answers``) only when the *reference*
states one (``#### 18``, ``\\boxed{18}``, a last line such as ``A: 18``, or a short reference). A
long free-form reference (an AlpacaEval answer) has no single answer, so there exact match means
"same text after normalisation"; comparing the last numbers of two essays would be noise.
"""
from __future__ import annotations

import functools
from collections import Counter

from nltk.stem import porter
from rouge_score import rouge_scorer, tokenize, tokenizers

from functions.scoring.answers import extract_final_answer, reference_answer
from functions.scoring.text import ARTICLES, normalize_text, words

__all__ = ["exact_match", "answers_match", "token_f1", "rouge_l", "extract_final_answer", "reference_answer"]

# ROUGE-L is an O(n*m) dynamic programme in pure Python (~0.25 us per cell): cap both sides so one
# huge output cannot stall the request path. 1024 tokens leaves >99% of the real outputs whole.
MAX_ROUGE_TOKENS = 1024


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
