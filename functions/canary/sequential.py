"""Always-valid comparison of two arms' means: the mixture sequential probability ratio test
(mSPRT) with a normal mixture and a plug-in variance, and the confidence sequence it inverts to.

The method (Johari, Pekelis, Walsh 2017, "Peeking at A/B tests: why it matters, and what to do
about it", KDD; Johari, Koomen, Pekelis, Walsh 2022, "Always valid inference", Operations
Research): the difference of the arm means, Δ̂ = mean_treatment − mean_control, has variance
v = σ²_T/n_T + σ²_C/n_C. Against H0: Δ = θ0, the likelihood ratio of N(θ, v), with θ mixed over
N(θ0, τ²), is

    Λ = sqrt(v / (v + τ²)) · exp(τ² (Δ̂ − θ0)² / (2 v (v + τ²))).

Under H0 this is Robbins' normal-mixture martingale in the information 1/v (the normal-mixture
boundary of Howard, Ramdas, McAuliffe, Sekhon 2021, "Time-uniform, nonparametric, nonasymptotic
confidence sequences", Annals of Statistics), so by Ville's inequality P(∃t: Λ_t ≥ 1/α) ≤ α
however often it is looked at: p_t = min(1, min_{s≤t} 1/Λ_s) is an always-valid p-value, and the
set of θ0 with Λ_t(θ0) < 1/α is a confidence sequence (two-sided: the mixture is symmetric),

    Δ̂ ± sqrt(v (v + τ²) / τ² · (2 log(1/α) + log((v + τ²) / v))).

Quality scores are bounded in [0, 1] with unknown variance, so v is a plug-in from the arms'
sample variances; Waudby-Smith, Arnold, Wu, Ramdas 2024 ("Time-uniform central limit theory and
asymptotic confidence sequences", Annals of Statistics) show the plug-in keeps the guarantee
asymptotically. Two things keep it at the sample sizes a canary sees (checked on real AlpacaEval
scores by ``benchmarks/bench_canary.py``, A/A replays looked at after every interaction):

- each arm's variance is at least the pooled within-arm variance. Quality is skewed (most answers
  near one value, a few penalised far below), and a small arm that has not yet drawn one of the
  rare low scores looks far more certain than it is: with per-arm plug-ins, A/A replays at a 10%
  share made a false decision in 8% (30 per arm at least) to 24% (10) of seeds; with the floor,
  in ≤ 1.4%. Under H0 both arms share one variance, which the pooled estimate measures from more
  data; under H1 the floor only widens the interval;
- no decision before both arms hold ``min_samples`` (``functions.canary.decision``).

Every function takes numpy arrays (one element per look, or per seed) or plain floats: the
Lambda's single look and the benchmark's thousands of replays run the same arithmetic.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from functions.canary.stats import Moments

# v is at least this: two constant arms would otherwise divide by zero.
VARIANCE_FLOOR = 1e-12

Array = NDArray[np.float64]


def sample_variance(n: ArrayLike, total: ArrayLike, total_sq: ArrayLike) -> Array:
    """(Σx² − (Σx)²/n) / (n − 1), clipped at 0; NaN below two values."""
    n, total, total_sq = (np.asarray(x, dtype=float) for x in (n, total, total_sq))
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = (total_sq - total * total / n) / (n - 1)
    return np.where(n >= 2, np.maximum(variance, 0.0), np.nan)


def difference_variance(n_c: ArrayLike, var_c: ArrayLike, n_t: ArrayLike, var_t: ArrayLike) -> Array:
    """Variance of Δ̂, each arm's variance floored at the pooled within-arm variance (see above)."""
    n_c, var_c, n_t, var_t = (np.asarray(x, dtype=float) for x in (n_c, var_c, n_t, var_t))
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = ((n_c - 1) * var_c + (n_t - 1) * var_t) / (n_c + n_t - 2)
        v = np.fmax(var_t, pooled) / n_t + np.fmax(var_c, pooled) / n_c
    return np.maximum(v, VARIANCE_FLOOR)


def log_likelihood_ratio(effect: ArrayLike, v: ArrayLike, tau: float, theta0: float = 0.0) -> Array:
    """log Λ of H0: Δ = theta0 (see the module docstring)."""
    effect, v = np.asarray(effect, dtype=float), np.asarray(v, dtype=float)
    tau2 = tau * tau
    return 0.5 * np.log(v / (v + tau2)) + tau2 * (effect - theta0) ** 2 / (2 * v * (v + tau2))


def half_width(v: ArrayLike, tau: float, alpha: float) -> Array:
    """Half-width of the confidence sequence at variance v: {θ: Λ(θ) < 1/α} = Δ̂ ± this."""
    v = np.asarray(v, dtype=float)
    tau2 = tau * tau
    return np.sqrt(v * (v + tau2) / tau2 * (2 * math.log(1 / alpha) + np.log((v + tau2) / v)))


@dataclass(frozen=True)
class Comparisons:
    """One look (0-d arrays) or many (1-d): Δ̂, its variance, log Λ at Δ = 0, this look's
    p-value 1/Λ (the always-valid one is the running minimum over looks) and the sequence's CI."""

    effect: Array
    variance: Array
    log_lr: Array
    p_value: Array
    ci_low: Array
    ci_high: Array


def compare_sums(n_c: ArrayLike, total_c: ArrayLike, total_sq_c: ArrayLike, n_t: ArrayLike, total_t: ArrayLike,
                 total_sq_t: ArrayLike, *, alpha: float, tau: float) -> Comparisons:
    """The test on the arms' sufficient statistics; NaN where an arm has fewer than two values."""
    n_c, total_c, n_t, total_t = (np.asarray(x, dtype=float) for x in (n_c, total_c, n_t, total_t))
    with np.errstate(divide="ignore", invalid="ignore"):
        effect = total_t / n_t - total_c / n_c
    v = difference_variance(n_c, sample_variance(n_c, total_c, total_sq_c),
                            n_t, sample_variance(n_t, total_t, total_sq_t))
    log_lr = log_likelihood_ratio(effect, v, tau)
    width = half_width(v, tau, alpha)
    return Comparisons(effect=effect, variance=v, log_lr=log_lr, p_value=np.minimum(1.0, np.exp(-log_lr)),
                       ci_low=effect - width, ci_high=effect + width)


@dataclass(frozen=True)
class Comparison:
    """One look, as plain floats (None where an arm has fewer than two values)."""

    effect: float | None
    variance: float | None
    p_value: float | None
    ci_low: float | None
    ci_high: float | None


def compare(control: Moments, treatment: Moments, *, alpha: float, tau: float) -> Comparison:
    if control.n < 2 or treatment.n < 2:
        effect = None if not (control.n and treatment.n) else (treatment.total / treatment.n
                                                                - control.total / control.n)
        return Comparison(effect=effect, variance=None, p_value=None, ci_low=None, ci_high=None)
    c = compare_sums(control.n, control.total, control.total_sq, treatment.n, treatment.total, treatment.total_sq,
                     alpha=alpha, tau=tau)
    return Comparison(effect=float(c.effect), variance=float(c.variance), p_value=float(c.p_value),
                      ci_low=float(c.ci_low), ci_high=float(c.ci_high))
