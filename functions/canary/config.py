"""The canary's settings: the test's (``CANARY_*`` in ``functions/common/contract.py``, where
their defaults live) and the guards' thresholds, which are the offline gate's (``GateConfig``)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from functions.common.contract import Settings, settings
from functions.gate.decision import GateConfig

_GATE = GateConfig()


class CanaryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # P(any promote or rollback | staging no different) ≤ alpha, however often the test is looked at.
    alpha: float = Field(default=Settings.canary_alpha.default, gt=0.0, lt=1.0)
    # Promote only if the quality gain's confidence interval lies above this.
    min_effect: float = Field(default=Settings.canary_min_effect.default, ge=0.0)
    # Per arm: no decision before both arms hold this many interactions (feedback: ratings).
    min_samples: int = Field(default=Settings.canary_min_samples.default, ge=2)
    # Interactions of both arms together, and hours: at either limit, inconclusive.
    max_samples: int = Field(default=Settings.canary_max_samples.default, ge=4)
    max_hours: float = Field(default=Settings.canary_max_hours.default, gt=0.0)
    # τ of the normal mixture, in quality units: the effect sizes the test is most sensitive to
    # (0.05 measured best of 0.02 / 0.05 / 0.1 on AlpacaEval replays; the width depends on it only
    # logarithmically).
    mixture_sd: float = Field(default=0.05, gt=0.0)
    # Share of alpha the feedback test spends (it can only roll back); quality gets the rest, so
    # by the union bound both together stay within alpha.
    feedback_alpha_share: float = Field(default=0.2, ge=0.0, lt=1.0)
    # The guards, as the offline gate defines them (functions/gate/decision.py).
    refusal_margin: float = _GATE.refusal_margin
    pii_margin: float = _GATE.pii_margin
    protected_attribute: str | None = _GATE.protected_attribute
    disparate_impact_min: float = _GATE.disparate_impact_min
    good_quality: float = _GATE.good_quality

    @property
    def quality_alpha(self) -> float:
        return self.alpha * (1.0 - self.feedback_alpha_share)

    @property
    def feedback_alpha(self) -> float:
        return self.alpha * self.feedback_alpha_share

    @classmethod
    def from_settings(cls, gate: GateConfig | None = None) -> CanaryConfig:
        """What a handler decides with: the ``CANARY_*`` settings and the gate's guard thresholds."""
        gate = gate or _GATE
        return cls(alpha=settings.canary_alpha, min_effect=settings.canary_min_effect,
                   min_samples=settings.canary_min_samples, max_samples=settings.canary_max_samples,
                   max_hours=settings.canary_max_hours, refusal_margin=gate.refusal_margin,
                   pii_margin=gate.pii_margin, protected_attribute=gate.protected_attribute,
                   disparate_impact_min=gate.disparate_impact_min, good_quality=gate.good_quality)
