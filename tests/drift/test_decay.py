"""Quality decay on real judge scores: a healthy model's window vs alpaca-7b's."""
from __future__ import annotations

import math

import pytest

from functions.drift import quality_decay
from tests.drift.conftest import MIXTRAL, draw, load


def judge_quality(name: str, n: int, seed: int) -> list[float | None]:
    """AlpacaEval's judge preference over the GPT-4 reference: a real 0..1 quality score."""
    return [r["judge_pref_over_reference"] for r in draw(load(name), n, seed)]


def test_alpaca_window_breaches_against_a_gpt4_baseline():
    decay = quality_decay(judge_quality("gpt4_1106_preview", 100, 1), judge_quality("alpaca-7b", 100, 2),
                          threshold=0.1, min_samples=30)
    assert decay.breach
    assert decay.delta == pytest.approx(decay.baseline_mean - decay.current_mean)
    assert decay.delta > 0.4 and decay.p_value < 1e-6
    assert "fell" in decay.reason


def test_alpaca_window_breaches_against_mixtral_with_significance():
    decay = quality_decay(judge_quality(f"{MIXTRAL}_concise", 200, 3), judge_quality("alpaca-7b", 200, 4),
                          threshold=0.05, min_samples=50, alpha=0.01)
    assert decay.breach and decay.p_value < 0.01
    assert 0.05 < decay.delta < 0.2


def test_two_windows_of_one_model_do_not_breach():
    scores = judge_quality(f"{MIXTRAL}_concise", 400, 5)
    decay = quality_decay(scores[::2], scores[1::2], threshold=0.05, min_samples=50)
    assert not decay.breach
    assert abs(decay.delta) < 0.05 and decay.p_value > 0.05
    assert "within the threshold" in decay.reason


def test_a_big_drop_on_too_few_samples_is_no_breach():
    decay = quality_decay([0.9] * 40, [0.1] * 10, threshold=0.05, min_samples=30)
    assert not decay.breach and decay.delta is None and decay.p_value is None
    assert "too few" in decay.reason and decay.n_current == 10


def test_missing_scores_are_ignored_and_alpha_can_veto():
    base = [0.8, 0.7, None, 0.9, float("nan")] * 10
    cur = [0.78, 0.69, 0.88] * 10
    decay = quality_decay(base, cur, threshold=0.01, min_samples=30)
    assert decay.n_baseline == 30 and not math.isnan(decay.delta)
    assert decay.breach  # ΔM = 0.0167 > 0.01
    vetoed = quality_decay(base, cur, threshold=0.01, min_samples=30, alpha=0.01)
    assert not vetoed.breach and "alpha" in vetoed.reason


def test_welch_p_value_matches_scipy():
    import numpy as np
    from scipy import stats

    from functions.drift.decay import welch_greater

    rng = np.random.default_rng(0)
    a, b = rng.normal(0.6, 0.2, 50), rng.normal(0.55, 0.1, 70)
    expected = stats.ttest_ind(a, b, equal_var=False, alternative="greater").pvalue
    assert welch_greater(a, b) == pytest.approx(expected, rel=1e-9)
