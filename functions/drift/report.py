"""JSON-ready results of the drift checks (pydantic v2)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, computed_field

Field = Literal["prompt", "output"]
TestKind = Literal["mmd-rbf", "local-excess", "hotelling", "ks", "rate-gap"]
DESCRIPTOR_KINDS: tuple[TestKind, ...] = ("ks", "rate-gap")  # the rest test the embeddings


class TestResult(BaseModel):
    """One test of the family: MMD on embeddings or one descriptor."""

    model_config = ConfigDict(frozen=True)
    __test__ = False  # not a pytest class, despite the name

    name: str  # "mmd", "local", "discriminant", "chars", "headings", "quality", "flag:refusal", ...
    test: TestKind
    statistic: float
    p_value: float  # this test alone (permutation)
    p_adjusted: float  # family-wise (min-P over all tests of the report)
    baseline: float | None = None  # median, or rate for a flag; None for MMD
    current: float | None = None
    moved: bool
    # This member's share of the observed weighted sum of 1/p that the decision ranks: what carried
    # it, even when no member passes min-P on its own. None in reports stored before it existed.
    evidence_share: float | None = None


class ClusterShift(BaseModel):
    """How the share of one baseline topic cluster changed."""

    model_config = ConfigDict(frozen=True)

    cluster: int
    share_baseline: float
    share_current: float
    delta: float  # share_current - share_baseline
    examples: list[str]
    examples_from: Literal["baseline", "current"]


PsiSize = Literal["small", "moderate", "large"]


class DescriptorPSI(BaseModel):
    """Population stability index of one descriptor, current against baseline."""

    model_config = ConfigDict(frozen=True)

    name: str
    psi: float
    bins: int  # baseline deciles (fewer when tied), or the categories of a flag
    size: PsiSize  # the usual reading, a convention: < 0.1 small, 0.1-0.25 moderate, > 0.25 large


class Divergences(BaseModel):
    """Effect sizes beside the calibrated decision: how far apart the windows are, not whether the
    gap is more than chance (that is the permutation test's ``p_value``)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["effect-sizes"] = "effect-sizes"
    note: str = "effect sizes, not tests: the decision is the permutation test (p_value)"
    unit: Literal["nats"] = "nats"  # natural logarithms: JS is at most ln 2 = 0.693
    clusters: int
    pseudo_count: float  # added to each cluster's count before KL and JS
    cluster_kl: float  # KL(current || baseline) of the topic-cluster shares
    cluster_js: float  # Jensen-Shannon divergence of the same shares
    psi_epsilon: float  # the share given to a bin that one window leaves empty
    psi: list[DescriptorPSI]  # largest first


class ClusterDecay(BaseModel):
    """One baseline prompt topic's part in the quality decay (shift-share)."""

    model_config = ConfigDict(frozen=True)

    cluster: int
    n_baseline: int  # scored records in the topic
    n_current: int
    weight_baseline: float  # w0: share of the scored baseline records
    weight_current: float  # w1
    quality_baseline: float | None  # q0: None when no scored baseline record is in it
    quality_current: float | None  # q1: None when w1 = 0 (its within term has weight 0)
    mix: float  # (w0 - w1) * q0
    within: float  # w1 * (q0 - q1)
    examples: list[str]  # prompts nearest the centroid
    examples_from: Literal["baseline", "current"]


class DecayDecomposition(BaseModel):
    """ΔM = M0 - M1 over the sampled scored records, split exactly into the part of the prompt
    mix moving (data drift) and the part of quality falling within a topic (concept drift)."""

    model_config = ConfigDict(frozen=True)

    method: Literal["shift-share"] = "shift-share"
    delta: float  # baseline mean - current mean of the scored sampled records (= mix + within)
    baseline_mean: float
    current_mean: float
    mix: float  # sum_k (w0_k - w1_k) * q0_k: data drift
    within: float  # sum_k w1_k * (q0_k - q1_k): concept drift
    mix_share: float | None  # mix / delta; None when delta is 0
    within_share: float | None
    n_baseline: int  # scored records used
    n_current: int
    unscored_baseline: int  # records left out: no quality
    unscored_current: int
    clusters: list[ClusterDecay]  # largest |mix + within| first
    note: str


class DriftReport(BaseModel):
    """Did ``field`` drift between a baseline window and the current one, and how."""

    model_config = ConfigDict(frozen=True)

    field: Field
    drift: bool
    p_value: float  # of the combined family test, calibrated over the same labellings
    statistic: float  # unbiased MMD² of the embeddings
    method: str
    alpha: float
    n_baseline: int
    n_current: int
    n_permutations: int
    seed: int
    bandwidth: float  # RBF sigma (median heuristic; the other MMD members use multiples of it)
    centroid_distance: float  # cosine distance of the mean embeddings
    tests: list[TestResult]
    clusters: list[ClusterShift]  # largest |delta| first
    embedder: str
    paired: int = 0  # prompts shared by both windows whose answers the labellings swapped; 0 = unpaired
    divergences: Divergences | None = None  # effect sizes beside the decision, not tests
    decay_decomposition: DecayDecomposition | None = None  # on the prompt report, given qualities

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
        return [name for name in self.members_moved if name in self._descriptor_names()]

    @computed_field  # type: ignore[prop-decorator]  # as above
    @property
    def members_moved(self) -> list[str]:
        """Every member (MMD, local excess, discriminant, descriptors) whose family-wise adjusted
        p-value is at most alpha, most significant first."""
        moved = [t for t in self.tests if t.moved]
        return [t.name for t in sorted(moved, key=lambda t: (t.p_adjusted, -t.statistic))]

    @computed_field  # type: ignore[prop-decorator]  # as above
    @property
    def members_leading(self) -> list[str]:
        """The fewest members whose evidence shares add up to more than half of the combined sum,
        largest first: what the decision rests on, when several moved a little and none alone."""
        shares = sorted(((t.evidence_share, t.name) for t in self.tests if t.evidence_share is not None), reverse=True)
        leading, total = [], 0.0
        for share, name in shares:
            leading.append(name)
            total += share
            if total > 0.5:
                break
        return leading

    def _descriptor_names(self) -> set[str]:
        return {t.name for t in self.tests if t.test in DESCRIPTOR_KINDS}


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
