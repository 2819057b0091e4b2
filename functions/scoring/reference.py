"""Reference-based metrics: final-answer exact match, token F1 and ROUGE-L.

Exact match compares extracted answers (``functions.scoring.answers``) only when the *reference*
states one (``#### 18``, ``\\boxed{18}``, a last line such as ``A: 18``, or a short reference). A
long free-form reference (an AlpacaEval answer) has no single answer, so there exact match means
"same text after normalisation"; comparing the last numbers of two essays would be noise.
"""
from __future__ import annotations

import re
from collections import Counter
from itertools import repeat

from nltk.stem import porter
from rapidfuzz.distance import LCSseq

from functions.scoring.answers import extract_final_answer, reference_answer
from functions.scoring.text import ARTICLES, CAPITAL_SIGMA, Memo, normalize_text, words

__all__ = ["exact_match", "answers_match", "token_f1", "rouge_l", "rouge_tokens", "reference_metrics",
           "extract_final_answer", "reference_answer"]


def exact_match(output: str, reference: str) -> int:
    """1 when the output's final answer equals the reference's (for a free-form reference: when
    the normalised texts are equal), else 0."""
    return answers_match(output, reference, reference_answer(reference))


def answers_match(
    output: str,
    reference: str,
    ref_answer: str | None,
    output_tokens: list[str] | None = None,
    reference_tokens: list[str] | None = None,
) -> int:
    """``exact_match`` with ``reference_answer(reference)`` already computed (the pack needs it
    twice: for the match and to pick the quality weights). The optional tokens must be
    ``words(output)`` / ``words(reference)``: the pack's, so neither text is tokenised again."""
    if ref_answer is None:
        return int(normalize_text(output, output_tokens) == normalize_text(reference, reference_tokens))
    return int(extract_final_answer(output) == ref_answer)


def token_f1(
    output: str,
    reference: str,
    output_tokens: list[str] | None = None,
    reference_tokens: list[str] | None = None,
) -> float:
    """SQuAD-style bag-of-words F1 (lower-cased, no punctuation, no articles). The optional
    tokens must be ``words(output)`` / ``words(reference)``."""
    out = [w for w in (words(output) if output_tokens is None else output_tokens) if w not in ARTICLES]
    ref = [w for w in (words(reference) if reference_tokens is None else reference_tokens) if w not in ARTICLES]
    return _f1(out, ref)


def _f1(out: list[str], ref: list[str]) -> float:
    if not out or not ref:
        return float(out == ref)
    counts, ref_counts = Counter(out), Counter(ref)
    # sum((counts & ref_counts).values()), without building the intersection in Python
    common = sum(map(min, counts.values(), map(ref_counts.get, counts, repeat(0))))
    if common == 0:
        return 0.0
    precision, recall = common / len(out), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def reference_metrics(
    output: str, reference: str, output_tokens: list[str], reference_tokens: list[str]
) -> tuple[str | None, int, float, float]:
    """``(reference_answer, exact_match, token_f1, rouge_l)`` from the texts and their
    ``words()``, as the functions above compute them, with each word list filtered once."""
    ref_answer = reference_answer(reference, reference_tokens)
    out = [w for w in output_tokens if w not in ARTICLES]
    ref = [w for w in reference_tokens if w not in ARTICLES]
    if ref_answer is not None:
        em = int(extract_final_answer(output) == ref_answer)
    elif CAPITAL_SIGMA in output or CAPITAL_SIGMA in reference:  # see normalize_text
        em = int(normalize_text(output) == normalize_text(reference))
    else:  # normalize_text joins these lists with spaces; words hold none, so compare the lists
        em = int(out == ref)
    return ref_answer, em, _f1(out, ref), rouge_l(output, reference, output_tokens, reference_tokens)


_STEMMER = porter.PorterStemmer()
# rouge_score.tokenize blanks runs of its NON_ALPHANUM_PATTERN [^a-z0-9]+ and splits on spaces:
# its tokens are exactly the runs of [a-z0-9], found here by a split of the text with every other
# character blanked (ASCII text, str.translate: twice as fast as a regex) or by a findall.
_ALNUM_RUN = re.compile(r"[a-z0-9]+")
_BLANK_NON_ALNUM = str.maketrans({i: " " for i in range(128) if not _ALNUM_RUN.fullmatch(chr(i))})


def _rouge_token(word: str) -> str:
    return _STEMMER.stem(word) if len(word) > 3 else word  # rouge-score stems words over 3 letters


_ROUGE_TOKENS = Memo(_rouge_token)  # the same words recur across requests; stemming is the hot spot


def rouge_tokens(text: str, tokens: list[str] | None = None) -> list[str]:
    """The tokens ``RougeScorer(["rougeL"], use_stemmer=True)`` scores (``rouge_score.tokenize``:
    lower case, runs of non-[a-z0-9] as separators, Porter stems), in one pass with cached stems.

    ``tokens``, when given, must be ``words(text)``: the runs of \\w, which are rouge-score's runs
    of [a-z0-9] when every one is ASCII letters and digits only (most texts), so the text is
    not split again."""
    if tokens is None or not ((joined := "".join(tokens)).isascii() and joined.isalnum()):
        lowered = text.lower()
        tokens = lowered.translate(_BLANK_NON_ALNUM).split() if lowered.isascii() else _ALNUM_RUN.findall(lowered)
    return list(map(_ROUGE_TOKENS.__getitem__, tokens))


def rouge_l(
    output: str,
    reference: str,
    output_tokens: list[str] | None = None,
    reference_tokens: list[str] | None = None,
) -> float:
    """ROUGE-L F-measure, equal to ``rouge-score``'s stemmed ROUGE-L (as usually reported): its
    tokens, with the longest common subsequence from rapidfuzz's C++ ``LCSseq`` instead of
    rouge-score's pure-Python table (linear memory, bit-parallel), so no output needs a length cap.
    The optional tokens must be ``words(output)`` / ``words(reference)``."""
    out, ref = rouge_tokens(output, output_tokens), rouge_tokens(reference, reference_tokens)
    if not out or not ref:
        return 0.0
    lcs = LCSseq.similarity(ref, out)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(out), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)
