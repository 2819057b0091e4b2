"""Reference-based metrics: final-answer exact match, token F1 and ROUGE-L.

Exact match compares extracted answers (``functions.scoring.answers``) only when the *reference*
states one (``#### 18``, ``\\boxed{18}``, a last line such as ``A: 18``, or a short reference). A
long free-form reference (an AlpacaEval answer) has no single answer, so there exact match means
"same text after normalisation"; comparing the last numbers of two essays would be noise.
"""
from __future__ import annotations

import functools
import re
from collections import Counter

from nltk.stem import porter
from rapidfuzz.distance import LCSseq

from functions.scoring.answers import extract_final_answer, reference_answer
from functions.scoring.text import ARTICLES, normalize_text, words

__all__ = ["exact_match", "answers_match", "token_f1", "rouge_l", "rouge_tokens", "extract_final_answer",
           "reference_answer"]

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


_STEMMER = porter.PorterStemmer()
_NON_ALNUM = re.compile(r"[^a-z0-9]+")  # rouge_score.tokenize's NON_ALPHANUM_PATTERN


@functools.lru_cache(maxsize=1 << 16)  # the same words recur across requests; stemming is the hot spot
def _rouge_token(word: str) -> str:
    return _STEMMER.stem(word) if len(word) > 3 else word  # rouge-score stems words over 3 letters


def rouge_tokens(text: str) -> list[str]:
    """The tokens ``RougeScorer(["rougeL"], use_stemmer=True)`` scores (``rouge_score.tokenize``:
    lower case, runs of non-[a-z0-9] as separators, Porter stems), in one pass with cached stems."""
    return [_rouge_token(word) for word in _NON_ALNUM.sub(" ", text.lower()).split()]


def rouge_l(output: str, reference: str) -> float:
    """ROUGE-L F-measure, equal to ``rouge-score``'s stemmed ROUGE-L (as usually reported): its
    tokens, with the longest common subsequence from rapidfuzz's C++ ``LCSseq`` instead of
    rouge-score's pure-Python table (linear memory, bit-parallel), so no output needs a length cap."""
    out, ref = rouge_tokens(output), rouge_tokens(reference)
    if not out or not ref:
        return 0.0
    lcs = LCSseq.similarity(ref, out)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(out), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)
