"""Sufficient statistics of one canary arm: what the test needs, summed, so a Lambda can rebuild an
arm from stored aggregates (DynamoDB counters: n, sum, sum of squares, flag counts) without
re-reading a single interaction, and two partial aggregates (windows, shards) add up exactly."""
from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Moments(_Frozen):
    """n, Σx and Σx² of one metric's values (each in [0, 1])."""

    n: int = Field(default=0, ge=0)
    total: float = 0.0
    total_sq: float = 0.0

    def add(self, value: float) -> Moments:
        return Moments(n=self.n + 1, total=self.total + value, total_sq=self.total_sq + value * value)

    def merge(self, other: Moments) -> Moments:
        return Moments(n=self.n + other.n, total=self.total + other.total, total_sq=self.total_sq + other.total_sq)

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    @property
    def variance(self) -> float | None:
        """Sample variance (n − 1); None below two values."""
        if self.n < 2:
            return None
        # Clipped: Σx² − (Σx)²/n can come out a hair below 0 in floating point for constant values.
        return max(0.0, (self.total_sq - self.total * self.total / self.n) / (self.n - 1))

    @property
    def sd(self) -> float | None:
        variance = self.variance
        return None if variance is None else math.sqrt(variance)


class GroupCount(_Frozen):
    """Interactions of one group of the protected attribute, and how many were good
    (quality ≥ ``good_quality``): the disparate-impact guard's rate."""

    n: int = Field(default=0, ge=0)
    good: int = Field(default=0, ge=0)

    def merge(self, other: GroupCount) -> GroupCount:
        return GroupCount(n=self.n + other.n, good=self.good + other.good)


class Observation(_Frozen):
    """One served interaction as the canary sees it: its scored quality and flags (the scorer
    pack's ``ScoreReport``), the feedback score if a user rated it (``feedback_score``, in
    [0, 1]), and its group of the protected attribute if one is declared."""

    quality: float = Field(ge=0.0, le=1.0)
    flags: tuple[str, ...] = ()
    feedback: float | None = Field(default=None, ge=0.0, le=1.0)
    group: str | None = None


class ArmStats(_Frozen):
    """Everything the canary test and its guards read about one arm."""

    quality: Moments = Moments()
    feedback: Moments = Moments()  # only the rated interactions
    refusals: int = Field(default=0, ge=0)  # interactions flagged ``refusal``
    pii: int = Field(default=0, ge=0)  # interactions flagged ``pii``
    groups: dict[str, GroupCount] = Field(default_factory=dict)

    @property
    def n(self) -> int:
        return self.quality.n

    def add(self, observation: Observation, good_quality: float = 0.5) -> ArmStats:
        groups = self.groups
        if observation.group is not None:
            one = GroupCount(n=1, good=int(observation.quality >= good_quality))
            groups = {**groups, observation.group: groups.get(observation.group, GroupCount()).merge(one)}
        feedback = self.feedback if observation.feedback is None else self.feedback.add(observation.feedback)
        return ArmStats(quality=self.quality.add(observation.quality), feedback=feedback,
                        refusals=self.refusals + ("refusal" in observation.flags),
                        pii=self.pii + ("pii" in observation.flags), groups=groups)

    def merge(self, other: ArmStats) -> ArmStats:
        groups = dict(self.groups)
        for name, count in other.groups.items():
            groups[name] = groups.get(name, GroupCount()).merge(count)
        return ArmStats(quality=self.quality.merge(other.quality), feedback=self.feedback.merge(other.feedback),
                        refusals=self.refusals + other.refusals, pii=self.pii + other.pii, groups=groups)
