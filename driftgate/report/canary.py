"""The report's canary section (rollout=canary): each canary with its looks over time, the arm sizes,
both arms' mean quality and the confidence sequence of the effect, and the decision.

Snapshot part (``collect_canaries``): ``canaries``, newest first, each the canary item's public
fields with ``looks``: per look its time and the numbers it decided on."""
from __future__ import annotations

from typing import Any

from driftgate.report.markup import Html, badge, empty, num, pvalue, signed, tag, when
from driftgate.report.svg import Point, RefLine, Series, linear_axis, time_chart, time_domain
from functions.common.contract import CANARY_PREFIX, LOOK_PREFIX, model_pk
from functions.common.repositories import StateRepository

BLUE, ORANGE, GREEN, VERMILION, GREY = "#0072B2", "#E69F00", "#009E73", "#D55E00", "#555"
STATUS_TONES = {"promoted": "ok", "running": "info", "aborted": "warn", "rolled_back": "bad", "inconclusive": "muted",
                "retired": "warn", "failed": "bad"}
_LOOK = ("decision", "n_control", "n_treatment", "mean_control", "mean_treatment", "effect", "p_value", "ci",
         "min_effect")
_CANARY = ("version", "control_version", "canary_id", "status", "share", "started_at", "updated_at", "ended_at",
           "aborted_by", "execution_arn", "decision")


def collect_canaries(state: StateRepository, model: str) -> list[dict[str, Any]]:
    pk = model_pk(model)
    looks: dict[int, list[dict[str, Any]]] = {}
    for item in state.query(pk, LOOK_PREFIX):
        decision = item.get("decision") or {}
        looks.setdefault(int(item["version"]), []).append({"at": item.get("at"),
                                                           **{k: decision.get(k) for k in _LOOK}})
    return [{**{k: item.get(k) for k in _CANARY}, "looks": looks.get(int(item["version"]), [])}
            for item in reversed(state.query(pk, CANARY_PREFIX))]


def _epoch(value: Any) -> float | None:
    from driftgate.report.markup import parse_time

    moment = parse_time(value)
    return moment.timestamp() if moment else None


def _timed(canary: dict[str, Any]) -> list[tuple[float, dict[str, Any]]]:
    return [(t, look) for look in canary.get("looks") or [] if (t := _epoch(look.get("at"))) is not None]


def arms_chart(canary: dict[str, Any], chart_id: str) -> str | None:
    """Each arm's interactions at every look."""
    looks = _timed(canary)
    if not looks:
        return None
    series = [Series(key, f"{name} (v{canary.get(version)})", color,
                     [Point(t, look[field] or 0, f"{when(look['at'])}: {name} n = {look[field] or 0}")
                      for t, look in looks], marker=marker)
              for key, name, version, field, color, marker in (
                  ("production", "production", "control_version", "n_control", BLUE, "circle"),
                  ("staging", "staging", "version", "n_treatment", ORANGE, "square"))]
    values = [p.y for s in series for p in s.points]
    return time_chart(chart_id, "Arm sizes at each look", f"{len(looks)} looks; last: production n = "
                      f"{looks[-1][1]['n_control']}, staging n = {looks[-1][1]['n_treatment']}", series,
                      linear_axis(values, "interactions"), time_domain([t for t, _ in looks]),
                      x_label="look (UTC)", height=220)


def effect_chart(canary: dict[str, Any], chart_id: str) -> str | None:
    """Both arms' mean quality, and the effect with its confidence sequence, at every look."""
    looks = [(t, look) for t, look in _timed(canary) if isinstance(look.get("mean_control"), (int, float))
             and isinstance(look.get("mean_treatment"), (int, float))]
    if not looks:
        return None

    def interval(look: dict[str, Any]) -> tuple[float | None, float | None]:
        ci = look.get("ci")
        return (ci[0], ci[1]) if isinstance(ci, list) and len(ci) == 2 else (None, None)

    series = [
        Series("mean-production", "production mean quality", BLUE,
               [Point(t, look["mean_control"], f"{when(look['at'])}: production {num(look['mean_control'])}")
                for t, look in looks]),
        Series("mean-staging", "staging mean quality", ORANGE,
               [Point(t, look["mean_treatment"], f"{when(look['at'])}: staging {num(look['mean_treatment'])}")
                for t, look in looks], marker="square"),
        Series("effect", "effect with its confidence sequence", GREEN,
               [Point(t, look["effect"], f"{when(look['at'])}: effect {signed(look['effect'])}, CI "
                      f"[{signed(interval(look)[0])}, {signed(interval(look)[1])}], p = {pvalue(look['p_value'])}, "
                      f"{look.get('decision')}", low=interval(look)[0], high=interval(look)[1],
                      emphasis=look.get("decision") not in (None, "continue"))
                for t, look in looks if isinstance(look.get("effect"), (int, float))],
               line=False, filled=False, marker="diamond"),
    ]
    min_effect = looks[-1][1].get("min_effect")
    refs = [RefLine("zero", 0.0, "no difference", GREY)]
    if isinstance(min_effect, (int, float)):
        refs.append(RefLine("min-effect", min_effect, f"minimum effect {min_effect:g}", VERMILION))
    values = [v for s in series for p in s.points for v in (p.y, p.low, p.high) if isinstance(v, (int, float))]
    values += [r.y for r in refs]
    return time_chart(chart_id, "Mean quality per arm and the effect's confidence sequence",
                      "Promote when the whole interval lies above the minimum effect, roll back when it lies "
                      "below 0. Filled markers: the look that decided.", series,
                      linear_axis(values, "quality / effect"), time_domain([t for t, _ in looks]),
                      refs=refs, x_label="look (UTC)", height=260)


def _one(canary: dict[str, Any]) -> Html:
    last = canary.get("decision") or {}
    status = str(canary.get("status"))
    ci = last.get("ci")
    facts = [("status", badge(status, STATUS_TONES.get(status, "info"))),
             ("staging / production", f"version {canary.get('version')} / version {canary.get('control_version')}"),
             ("share", f"{float(canary.get('share') or 0):.0%} of units"),
             ("started", when(canary.get("started_at"))), ("ended", when(canary.get("ended_at"))),
             ("looks", len(canary.get("looks") or [])),
             ("n production / staging", f"{last.get('n_control', 0)} / {last.get('n_treatment', 0)}"),
             ("mean quality production / staging", f"{num(last.get('mean_control'))} / "
                                                   f"{num(last.get('mean_treatment'))}"),
             ("always-valid p-value", pvalue(last.get("p_value"))),
             ("effect CI", f"[{signed(ci[0])}, {signed(ci[1])}]" if isinstance(ci, list) and len(ci) == 2 else "—"),
             ("last decision", f"{last.get('decision', '—')}: {last.get('reason', 'no look yet')}")]
    key = f"canary-{canary.get('version')}"
    charts = [svg for svg in (arms_chart(canary, f"chart-{key}-arms"), effect_chart(canary, f"chart-{key}-test"))
              if svg]
    return tag("article", tag("h3", f"Canary of version {canary.get('version')} ({canary.get('canary_id')})"),
               tag("dl", *(Html(tag("dt", k) + tag("dd", v)) for k, v in facts), class_="facts"),
               *(tag("figure", Html(svg)) for svg in charts), id=key)


def canary_section(data: dict[str, Any]) -> Html:
    canaries = data.get("canaries") or []
    body = [_one(c) for c in canaries] if canaries else [
        empty("No canary yet: with rollout=canary a version that passes the gate is tested on live traffic here.")]
    return tag("section", tag("h2", "Canaries", id="canaries"), *body, aria_labelledby="canaries")
