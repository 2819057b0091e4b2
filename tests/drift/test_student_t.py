"""The drift check's Student t tail (no scipy in the function) against scipy's."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from functions.drift.student_t import regularized_beta, t_sf


@pytest.mark.parametrize("df", [0.7, 1.0, 2.5, 9.3, 57.0, 398.6, 5000.0])
def test_t_sf_matches_scipy(df: float) -> None:
    ts = np.concatenate([-np.geomspace(1e-4, 60, 40), [0.0], np.geomspace(1e-4, 60, 40)])
    ours = np.array([t_sf(float(t), df) for t in ts])
    np.testing.assert_allclose(ours, stats.t.sf(ts, df), rtol=1e-10, atol=1e-300)


def test_regularized_beta_matches_scipy_on_both_sides_of_the_switch() -> None:
    from scipy.special import betainc

    rng = np.random.default_rng(3)
    for a, b, x in zip(rng.uniform(0.1, 300, 200), rng.uniform(0.1, 300, 200), rng.uniform(0, 1, 200), strict=True):
        assert regularized_beta(a, b, x) == pytest.approx(betainc(a, b, x), rel=1e-11, abs=1e-300)
    assert regularized_beta(2.0, 3.0, 0.0) == 0.0 and regularized_beta(2.0, 3.0, 1.0) == 1.0
