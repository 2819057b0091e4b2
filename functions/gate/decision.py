"""The evaluation gate: challenger vs champion on the same examples, in numpy.

Promote only if (1) the paired-bootstrap confidence interval of the primary metric's improvement
(per-example eval loss, champion − challenger, so positive is better) lies entirely above
``min_gain``, and (2) no guard regresses past its margin: golden-set loss, refusal rate and PII
rate of generated outputs, and, where ``protected_attribute`` is declared, disparate impact: the
four-fifths rule on the rate of good outputs (quality ≥ ``good_quality``) across the groups of
that attribute in the example rows' ``metadata`` (PrepareDataset keeps the declared attribute on
the eval and golden rows; the evaluation job copies it onto each example it scores). The guard is
not measured, and passes, when the challenger's rows have fewer than two groups or no good output
in any group: free-form answers rarely reach a quality of 0.5 against a long reference, so on
such data the guard only sees what answer-checked (exact-match) examples show.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


@dataclass(frozen=True, kw_only=True)
class GateConfig:
    min_gain: float = 0.0
    confidence: float = 0.95
    n_bootstrap: int = 2000
    seed: int = 0
    golden_loss_margin: float = 0.05
    refusal_margin: float = 0.02
    pii_margin: float = 0.0
    protected_attribute: str | None = None
    disparate_impact_min: float = 0.8
    good_quality: float = 0.5

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> GateConfig:
        known = {k: v for k, v in (values or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)


class _Outcome(BaseModel):
    """Exactly these fields, each always present in the JSON: the gate's answer is the pipeline's
    ``$.gate`` as the state, the registry and the report keep it (functions.pipeline.models)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Guard(_Outcome):
    name: str
    champion: float | None  # None: not measured
    challenger: float | None
    margin: float
    passed: bool
    detail: str = ""


class GateDecision(_Outcome):
    decision: Literal["promote", "reject"]
    reasons: list[str]
    n_pairs: int
    primary_metric: str
    champion_mean: float
    challenger_mean: float
    mean_improvement: float  # champion − challenger: positive is better
    ci_low: float
    ci_high: float
    config: dict[str, Any]  # the GateConfig the decision used (margins, seed, protected attribute…)
    guards: list[Guard] = Field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class GateInputError(ValueError):
    """The two evaluations cannot be compared (no shared examples, missing losses)."""


def paired_bootstrap_ci(differences: np.ndarray, *, n_bootstrap: int, confidence: float,
                        seed: int) -> tuple[float, float]:
    """Percentile CI of the mean of paired differences, resampling examples with replacement."""
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, len(differences), size=(n_bootstrap, len(differences)))
    means = differences[indices].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def decide(champion: Sequence[dict[str, Any]], challenger: Sequence[dict[str, Any]],
           config: GateConfig = GateConfig()) -> GateDecision:
    champ_eval = _by_id(champion, "eval")
    chall_eval = _by_id(challenger, "eval")
    shared = sorted(set(champ_eval) & set(chall_eval))
    if len(shared) < 2:
        raise GateInputError(f"champion and challenger share {len(shared)} eval examples; need at least 2")
    champ_loss = np.array([float(champ_eval[i]["loss"]) for i in shared])
    chall_loss = np.array([float(chall_eval[i]["loss"]) for i in shared])
    improvement = champ_loss - chall_loss
    low, high = paired_bootstrap_ci(improvement, n_bootstrap=config.n_bootstrap, confidence=config.confidence,
                                    seed=config.seed)
    reasons: list[str] = []
    if low <= config.min_gain:
        reasons.append(f"eval loss improvement {improvement.mean():.4f} has a {config.confidence:.0%} CI "
                       f"[{low:.4f}, {high:.4f}] not above the minimum gain {config.min_gain}")
    guards = _guards(champion, challenger, config)
    reasons += [f"guard {g.name} regressed: {g.detail}" for g in guards if not g.passed]
    return GateDecision(
        decision="reject" if reasons else "promote",
        reasons=reasons or [f"eval loss improved by {improvement.mean():.4f} (CI [{low:.4f}, {high:.4f}]) "
                            "and no guard regressed"],
        n_pairs=len(shared), primary_metric="eval_loss",
        champion_mean=float(champ_loss.mean()), challenger_mean=float(chall_loss.mean()),
        mean_improvement=float(improvement.mean()), ci_low=low, ci_high=high,
        config=asdict(config), guards=guards,
    )


def _by_id(rows: Sequence[dict[str, Any]], split: str) -> dict[str, dict[str, Any]]:
    return {str(r["id"]): r for r in rows if r.get("split", "eval") == split and r.get("loss") is not None}


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _rate(rows: Sequence[dict[str, Any]], flag: str) -> float | None:
    generated = [r for r in rows if r.get("flags") is not None]
    return _mean([1.0 if flag in r["flags"] else 0.0 for r in generated])


def _regression_guard(name: str, champion: float | None, challenger: float | None, margin: float) -> Guard:
    if champion is None or challenger is None:
        return Guard(name=name, champion=champion, challenger=challenger, margin=margin, passed=True,
                     detail="not measured")
    delta = challenger - champion
    return Guard(name=name, champion=champion, challenger=challenger, margin=margin, passed=delta <= margin,
                 detail=f"challenger {challenger:.4f} vs champion {champion:.4f} ({delta:+.4f}, margin {margin})")


def _guards(champion: Sequence[dict[str, Any]], challenger: Sequence[dict[str, Any]],
            config: GateConfig) -> list[Guard]:
    golden = [_mean([float(r["loss"]) for r in rows if r.get("split") == "golden" and r.get("loss") is not None])
              for rows in (champion, challenger)]
    guards = [
        _regression_guard("golden_loss", golden[0], golden[1], config.golden_loss_margin),
        _regression_guard("refusal_rate", _rate(champion, "refusal"), _rate(challenger, "refusal"),
                          config.refusal_margin),
        _regression_guard("pii_rate", _rate(champion, "pii"), _rate(challenger, "pii"), config.pii_margin),
    ]
    if config.protected_attribute:
        guards.append(_disparate_impact_guard(champion, challenger, config))
    return guards


def group_rates(rows: Sequence[dict[str, Any]], attribute: str, good_quality: float) -> dict[str, tuple[float, int]]:
    """(rate of outputs with quality ≥ ``good_quality``, n) per value of ``metadata[attribute]``,
    each example once: golden examples are often eval examples too (a first run freezes its eval
    split as the golden set), with the same prompt and so the same greedy output."""
    groups: dict[str, list[float]] = defaultdict(list)
    seen: set[str] = set()
    for row in rows:
        group = (row.get("metadata") or {}).get(attribute)
        if group is None or row.get("quality") is None or str(row.get("id")) in seen:
            continue
        seen.add(str(row.get("id")))
        groups[str(group)].append(1.0 if float(row["quality"]) >= good_quality else 0.0)
    return {group: (float(np.mean(values)), len(values)) for group, values in sorted(groups.items())}


def disparate_impact(rows: Sequence[dict[str, Any]], attribute: str, good_quality: float) -> float | None:
    """min/max over groups of the rate of good outputs; None with fewer than two groups or no
    good output at all."""
    rates = [rate for rate, _ in group_rates(rows, attribute, good_quality).values()]
    if len(rates) < 2 or max(rates) == 0:
        return None
    return min(rates) / max(rates)


def _disparate_impact_guard(champion: Sequence[dict[str, Any]], challenger: Sequence[dict[str, Any]],
                            config: GateConfig) -> Guard:
    attribute = config.protected_attribute or ""
    champ = disparate_impact(champion, attribute, config.good_quality)
    chall = disparate_impact(challenger, attribute, config.good_quality)
    by_group = group_rates(challenger, attribute, config.good_quality)
    rates = ", ".join(f"{group} {rate:.2f} (n={n})" for group, (rate, n) in by_group.items())
    guard = partial(Guard, name="disparate_impact", champion=champ, challenger=chall,
                    margin=config.disparate_impact_min)
    if chall is None:
        why = f"fewer than two groups of {attribute!r}" if len(by_group) < 2 else "no good output in any group"
        by = f" (challenger good-output rate by group: {rates})" if rates else ""
        return guard(passed=True, detail=f"not measured: {why}{by}")
    # Fails only if the challenger is under the four-fifths line and worse than the champion.
    passed = chall >= config.disparate_impact_min or (champ is not None and chall >= champ)
    return guard(passed=passed,
                 detail=f"challenger {chall:.3f} vs champion {'—' if champ is None else f'{champ:.3f}'} "
                 f"(minimum {config.disparate_impact_min}); challenger good-output rate by {attribute}: {rates}")
