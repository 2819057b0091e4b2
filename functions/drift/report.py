"""JSON-ready results of the drift checks (pydantic v2)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, computed_field

Field = Literal["prompt", "output"]
TestKind = Literal["mmd-rbf", "ks", "rate-gap"]


class TestResult(BaseModel):
    """One test of the family: MMD on embeddings or one descriptor."""

    model_config = ConfigDict(frozen=True)
    __test__ = False  # not a pytest class, despite the name

    name: str  # "mmd", "chars", "quality", "flag:refusal", ...
    test: TestKind
    statistic: float
    p_value: float  # this test alone (permutation)
    p_adjusted: float  # family-wise (min-P over all tests of the report)
    baseline: float | None = None  # median, or rate for a flag; None for MMD
    current: float | None = None
    moved: bool


class ClusterShift(BaseModel):
    """How the share of one baseline topic cluster changed."""

    model_config = ConfigDict(frozen=True)

    cluster: int
    share_baseline: float
    share_current: float
    delta: float  # share_current - share_baseline
    examples: list[str]
    examples_from: Literal["baseline", "current"]


class DriftReport(BaseModel):
    """Did ``field`` drift between a baseline window and the current one, and how."""

    model_config = ConfigDict(frozen=True)

    field: Field
    drift: bool
    p_value: float  # combined over all tests, family-wise calibrated
    statistic: float  # unbiased MMD² of the embeddings
    method: str
    alpha: float
    n_baseline: int
    n_current: int
    n_permutations: int
    seed: int
    bandwidth: float  # RBF sigma (median heuristic)
    centroid_distance: float  # cosine distance of the mean embeddings
    tests: list[TestResult]
    clusters: list[ClusterShift]  # largest |delta| first
    embedder: str

    # mypy rejects a decorator over @property; pydantic documents this ignore for computed fields.
    @computed_field  # type: ignore[prop-decorator]
    @property
    def p_values(self) -> dict[str, float]:
        """Per-test p-values (each test alone)."""
        return {t.name: t.p_value for t in self.tests}

    @computed_field  # type: ignore[prop-decorator]  # as above
    @property
    def descriptors_moved(self) -> list[str]:
        """Descriptors whose family-wise adjusted p-value is at most alpha, most significant first."""
        moved = [t for t in self.tests if t.moved and t.test != "mmd-rbf"]
        return [t.name for t in sorted(moved, key=lambda t: (t.p_adjusted, -t.statistic))]


class QualityDecay(BaseModel):
    """ΔM = M(t0) - M(t): how far the window's mean quality fell below the baseline's."""

    model_config = ConfigDict(frozen=True)

    breach: bool
    reason: str
    delta: float | None  # baseline mean - current mean (positive = worse now)
    baseline_mean: float | None
    current_mean: float | None
    threshold: float
    min_samples: int
    n_baseline: int
    n_current: int
    p_value: float | None  # one-sided Welch t: current mean < baseline mean
    test: str = "welch-t-one-sided"
