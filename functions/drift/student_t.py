"""Student's t upper tail, for the Welch test of quality decay: numpy and the standard library only,
so the drift check ships without scipy (about 114 MB unzipped, which a zip Lambda cannot spare)."""
from __future__ import annotations

import math

_TINY = 1e-300


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` > 0 degrees of freedom (real, as Welch's are); equals
    ``scipy.stats.t.sf`` to 1e-10 relative (tests/drift/test_student_t.py)."""
    # P(T > |t|); 1 - x passed as computed, not as 1.0 - x, which cancels near t = 0.
    tail = 0.5 * regularized_beta(df / 2, 0.5, df / (df + t * t), t * t / (df + t * t))
    return tail if t > 0 else 1.0 - tail


def regularized_beta(a: float, b: float, x: float, complement: float | None = None) -> float:
    """The regularized incomplete beta function I_x(a, b), by its continued fraction (modified Lentz),
    evaluated on the side of x where it converges fast; ``complement``: 1 - x, if known more exactly."""
    y = 1.0 - x if complement is None else complement
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(y))
    if x < (a + 1) / (a + b + 2):
        return front * _continued_fraction(a, b, x) / a
    return 1.0 - front * _continued_fraction(b, a, y) / b


def _continued_fraction(a: float, b: float, x: float, max_terms: int = 10_000, eps: float = 1e-16) -> float:
    def clamp(value: float) -> float:
        return value if abs(value) > _TINY else _TINY

    c, d = 1.0, 1.0 / clamp(1.0 - (a + b) * x / (a + 1))
    fraction = d
    for m in range(1, max_terms + 1):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 / clamp(1.0 + numerator * d)
            c = clamp(1.0 + numerator / c)
            fraction *= d * c
        if abs(d * c - 1.0) < eps:
            return fraction
    raise ArithmeticError(f"the incomplete beta fraction did not converge (a={a}, b={b}, x={x})")
