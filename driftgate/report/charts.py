"""The report's charts, from a snapshot: which numbers go on which axis, and their tooltips.

Colours are the Okabe–Ito palette (distinguishable with colour-vision deficiencies); series
also differ by marker shape, so no chart relies on colour alone."""
from __future__ import annotations

from collections import Counter
from typing import Any

from driftgate.report.markup import num, parse_time, pct, pvalue, signed, when
from driftgate.report.svg import (
    Point,
    RefLine,
    Series,
    linear_axis,
    log_axis,
    time_chart,
    time_domain,
)

BLUE, ORANGE, GREEN, VERMILION, GREY = "#0072B2", "#E69F00", "#009E73", "#D55E00", "#555"
FIELD_STYLE = {"prompt": (BLUE, "circle"), "output": (VERMILION, "square")}


def _epoch(value: Any) -> float | None:
    moment = parse_time(value)
    return moment.timestamp() if moment else None


def shared_time_domain(data: dict[str, Any]) -> tuple[float, float]:
    """Quality and drift charts share one time axis, so a window lines up across them."""
    times = [_epoch(w.get("start")) for w in data.get("windows") or []]
    times += [_epoch(d.get("window")) for d in data.get("drift") or []]
    return time_domain([t for t in times if t is not None])


def quality_chart(data: dict[str, Any]) -> str | None:
    """Mean quality per window (and mean feedback where rated), with the baseline's mean."""
    windows = [w for w in data.get("windows") or [] if _epoch(w.get("start")) is not None]
    quality = [Point(_epoch(w["start"]), w["mean_quality"],
                     f"{when(w['start'])}: mean quality {num(w['mean_quality'])} over {w.get('n', 0)} interactions")
               for w in windows if isinstance(w.get("mean_quality"), (int, float))]
    if not quality:
        return None
    feedback = [Point(_epoch(w["start"]), w["mean_feedback"],
                      f"{when(w['start'])}: mean feedback {num(w['mean_feedback'])} "
                      f"from {w.get('feedback_n', 0)} ratings")
                for w in windows if isinstance(w.get("mean_feedback"), (int, float))]
    series = [Series("quality", "mean quality", BLUE, quality)]
    if feedback:
        series.append(Series("feedback", "mean feedback", GREEN, feedback, marker="diamond"))
    refs = []
    baseline = (data.get("baseline") or {}).get("mean_quality")
    if isinstance(baseline, (int, float)):
        refs.append(RefLine("baseline", baseline, f"baseline {num(baseline)}", GREY))
    values = [p.y for s in series for p in s.points] + [r.y for r in refs]
    description = (f"{len(quality)} windows from {when(windows[0]['start'])} to {when(windows[-1]['start'])}; "
                   f"latest mean quality {num(quality[-1].y)}"
                   + (f", baseline {num(baseline)}" if refs else ""))
    return time_chart("chart-quality", "Mean quality per window", description, series,
                      linear_axis(values, "score (0–1)"), shared_time_domain(data), refs=refs)


def drift_alpha(data: dict[str, Any]) -> float | None:
    """The alpha of the latest check (the threshold the detector uses now)."""
    alphas = [d["report"]["alpha"] for d in data.get("drift") or []
              if isinstance(d.get("report", {}).get("alpha"), (int, float))]
    return alphas[-1] if alphas else None


def pvalue_chart(data: dict[str, Any]) -> str | None:
    """Combined drift p-value per window and field on a log axis; filled markers flagged drift."""
    checks = [d for d in data.get("drift") or []
              if _epoch(d.get("window")) is not None and isinstance(d.get("report", {}).get("p_value"), (int, float))]
    if not checks:
        return None
    series = []
    order = list(FIELD_STYLE)
    for field in sorted({str(d.get("field")) for d in checks}, key=lambda f: (order.index(f) if f in order else 99, f)):
        color, marker = FIELD_STYLE.get(field, (ORANGE, "diamond"))
        points = [Point(_epoch(d["window"]), d["report"]["p_value"],
                        f"{when(d['window'])}, {field}s: p = {pvalue(d['report']['p_value'])}"
                        + (" — drift" if d["report"].get("drift") else " — no drift"),
                        emphasis=bool(d["report"].get("drift")))
                  for d in checks if str(d.get("field")) == field]
        series.append(Series(field, f"{field} p-value", color, points, filled=False, marker=marker))
    alpha = drift_alpha(data)
    refs = [RefLine("alpha", alpha, f"alpha = {alpha:g}", VERMILION)] if alpha else []
    drifted = Counter(str(d.get("field")) for d in checks if d["report"].get("drift"))
    description = (f"{len(checks)} drift checks; drift flagged in "
                   + (", ".join(f"{n} {f} windows" for f, n in sorted(drifted.items())) or "no window")
                   + ". Filled markers: p-value at or below alpha.")
    values = [p.y for s in series for p in s.points] + [r.y for r in refs]
    return time_chart("chart-drift", "Drift p-value per window (log scale)", description, series,
                      log_axis(values, "p-value (log)"), shared_time_domain(data), refs=refs)


def gate_chart(runs: list[dict[str, Any]]) -> str | None:
    """Each gated run's eval-loss improvement with its bootstrap CI, against the minimum gain."""
    gated = [(r, r["gate"]) for r in runs if isinstance(r.get("gate"), dict)
             and isinstance(r["gate"].get("mean_improvement"), (int, float)) and _epoch(r.get("recorded_at"))]
    if not gated:
        return None
    points = [Point(_epoch(run["recorded_at"]), gate["mean_improvement"],
                    f"{when(run['recorded_at'])}: {gate.get('decision', '?')}, improvement "
                    f"{signed(gate['mean_improvement'])}, "
                    f"CI [{signed(gate.get('ci_low'))}, {signed(gate.get('ci_high'))}]",
                    low=gate.get("ci_low"), high=gate.get("ci_high"), emphasis=gate.get("decision") == "promote")
              for run, gate in gated]
    min_gain = (gated[-1][1].get("config") or {}).get("min_gain", 0.0)
    confidence = (gated[-1][1].get("config") or {}).get("confidence", 0.95)
    refs = [RefLine("min-gain", min_gain, f"minimum gain {min_gain:g}", VERMILION)]
    values = [v for p in points for v in (p.y, p.low, p.high) if isinstance(v, (int, float))] + [min_gain]
    description = (f"{len(points)} gate decisions; a challenger is promoted only if the whole "
                   f"{pct(confidence, 0)} CI lies above the minimum gain. Filled markers: the gate said promote.")
    return time_chart("chart-gate", "Gate: eval-loss improvement of the challenger, with CI", description,
                      [Series("improvement", "improvement (champion − challenger loss)", GREEN, points,
                              line=False, filled=False)],
                      linear_axis(values, "eval-loss improvement"), time_domain([p.t for p in points]),
                      refs=refs, x_label="run finished (UTC)", height=250)
