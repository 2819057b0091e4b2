"""The pack's shared-token and reordered paths give exactly the values of the plain definitions
(kept here as the reference), on real texts and on generated repetitive token sequences."""
from __future__ import annotations

import math
import random
import re
from collections import Counter

from functions.scoring import heuristics as h
from functions.scoring.answers import reference_answer
from functions.scoring.reference import (
    _ROUGE_TOKENS,
    answers_match,
    reference_metrics,
    rouge_l,
    rouge_tokens,
    token_f1,
)
from functions.scoring.text import ARTICLES, content_terms, words
from tests.scoring.test_text import real_texts


def plain_longest_repeated_span(tokens: list[str]) -> int:
    """heuristics.longest_repeated_span as first written: gallop 1, 2, 4, ... then bisect."""
    n = len(tokens)
    ids: dict[str, int] = {}
    prefix = [0]
    for tok in tokens:
        prefix.append((prefix[-1] * h._HASH_BASE + ids.setdefault(tok, len(ids) + 1)) % h._HASH_MOD)

    def repeats(k: int) -> bool:
        if k <= h.SHORT_SPAN:
            return len(set(zip(*(tokens[i:] for i in range(k)), strict=False))) < n - k + 1
        shift = pow(h._HASH_BASE, k, h._HASH_MOD)
        return len({(prefix[i + k] - prefix[i] * shift) % h._HASH_MOD for i in range(n - k + 1)}) < n - k + 1

    lo, hi = 0, 1
    while hi < n and repeats(hi):
        lo, hi = hi, hi * 2
    hi = min(hi, n)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if repeats(mid) else (lo, mid)
    return lo


def test_longest_repeated_span_equals_the_plain_search() -> None:
    rnd = random.Random(0)
    cases = [words(h.prose(t)) for t in real_texts()[:4000]]
    cases += [[str(rnd.randint(0, v)) for _ in range(rnd.randint(0, 60))] for v in (1, 3, 8, 50) for _ in range(300)]
    cases += [(["a", "b", "c"] * r)[:m] for r in range(1, 40) for m in (r, 3 * r - 1, 3 * r)]  # loops
    for tokens in cases:
        assert h.longest_repeated_span(tokens) == plain_longest_repeated_span(tokens), tokens


def plain_rouge_tokens(text: str) -> list[str]:
    """rouge_score.tokenize with its stemmer: blank non-[a-z0-9] runs, split, stem."""
    return [_ROUGE_TOKENS[w] for w in re.sub(r"[^a-z0-9]+", " ", text.lower()).split()]


def test_rouge_tokens_from_shared_words_equal_rouge_scores_tokenisation() -> None:
    extra = ["snake_case and café’s naïve Δ x_1", "KELVIN \u212a and İstanbul", "a\u00a0b\u2009c", "__", ""]
    for text in (*real_texts(), *extra):
        expected = plain_rouge_tokens(text)
        assert rouge_tokens(text) == rouge_tokens(text, words(text)) == expected, text[:80]


def plain_relevance(prompt: str, output: str) -> float | None:
    p, o = Counter(content_terms(prompt)), Counter(content_terms(output))
    if len(p) < h.MIN_TERMS or len(o) < h.MIN_TERMS:
        return None
    dot = sum(count * o[term] for term, count in p.items() if term in o)
    if not dot:
        return 0.0
    return dot / math.sqrt(sum(c * c for c in p.values()) * sum(c * c for c in o.values()))


def plain_token_f1(output: str, reference: str) -> float:
    out = [w for w in words(output) if w not in ARTICLES]
    ref = [w for w in words(reference) if w not in ARTICLES]
    if not out or not ref:
        return float(out == ref)
    common = sum((Counter(out) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(out), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def test_reference_metrics_and_relevance_equal_the_plain_functions() -> None:
    texts = real_texts()
    pairs = [(texts[i], texts[(i * 7 + 3) % len(texts)]) for i in range(0, len(texts), 7)]
    pairs += [(t, t) for t in texts[:200]] + [("ΑΣ'Α", "ΑΣ Α"), ("Paris.", "paris"), ("", "x"), ("18", "#### 18")]
    for output, reference in pairs:
        ref_answer = reference_answer(reference)
        expected = (ref_answer, answers_match(output, reference, ref_answer), plain_token_f1(output, reference),
                    rouge_l(output, reference))
        assert reference_metrics(output, reference, words(output), words(reference)) == expected
        assert token_f1(output, reference) == expected[2]
        assert h.relevance(reference, output, words(output)) == plain_relevance(reference, output)
