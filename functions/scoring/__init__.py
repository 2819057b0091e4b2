"""The scorer pack: pure-Python quality scores for LLM interactions (no network, no models).

``score(prompt, output, reference=None, expected_format=None)`` returns a ``ScoreReport`` with
reference metrics (exact match, token F1, ROUGE-L), heuristic flags and one ``quality`` in [0, 1];
see ``functions.scoring.pack`` for how quality is combined.
"""
from functions.scoring.pack import QualityBreakdown, Score, ScoreReport, explain, score
from functions.scoring.pii import PII_KINDS, find_pii, scrub_pii
from functions.scoring.reference import extract_final_answer

__all__ = ["score", "explain", "QualityBreakdown", "ScoreReport", "Score",
            "find_pii", "scrub_pii", "PII_KINDS", "extract_final_answer"]
