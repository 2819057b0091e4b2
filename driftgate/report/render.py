"""A snapshot (see ``collect``) as one self-contained HTML page: inline CSS and SVG, no script.

``render_report`` is pure (same snapshot, same bytes) and tolerant: every section has a
"no data yet" form, and missing keys of older snapshots read as absent."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from driftgate.report.canary import canary_section
from driftgate.report.charts import drift_alpha, gate_chart, pvalue_chart, quality_chart
from driftgate.report.cost import cost_section
from driftgate.report.effects import effects
from driftgate.report.markup import (
    Html,
    badge,
    empty,
    esc,
    join,
    num,
    pct,
    pvalue,
    signed,
    table,
    tag,
    when,
)
from driftgate.report.style import CSS
from driftgate.report.svg import share_bars

RUN_TONES = {"PROMOTED": "ok", "REJECTED": "warn", "REJECTED_BY_REVIEWER": "warn", "SKIPPED": "muted",
             "FAILED": "bad", "ROLLED_BACK": "warn", "INCONCLUSIVE": "muted", "CANARY_ABORTED": "warn"}
MAX_CLUSTERS, MAX_EXAMPLE_CHARS = 5, 200


def _figure(svg: str | None, caption: str, missing: str) -> Html:
    if svg is None:
        return empty(missing)
    return tag("figure", Html(svg), tag("figcaption", caption))


def _facts(pairs: list[tuple[str, Any]]) -> Html:
    return tag("dl", *(Html(tag("dt", k) + tag("dd", v)) for k, v in pairs), class_="facts")


def _section(section_id: str, title: str, *content: Any) -> Html:
    return tag("section", tag("h2", title, id=section_id), *content, aria_labelledby=section_id)


def _clip(text: Any, limit: int = MAX_EXAMPLE_CHARS) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _latest_gate(data: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The most recent gate decision: from the runs, else from a registered version."""
    for run in reversed(data.get("runs") or []):
        if isinstance(run.get("gate"), dict) and run["gate"]:
            return f"run {run.get('execution_name') or '?'} ({when(run.get('recorded_at'))})", run["gate"]
    for version in reversed(data.get("versions") or []):
        if isinstance(version.get("gate"), dict) and "mean_improvement" in version["gate"]:
            return f"adapter version {version.get('version')}", version["gate"]
    return None


# -- sections ------------------------------------------------------------------------------------
def _header(data: dict[str, Any]) -> Html:
    model = data.get("model") or "unknown model"
    return tag("header", tag("h1", f"driftgate report: {model}"),
               tag("p", "Quality, drift, retraining runs and adapter registry, "
                        f"as of {when(data.get('generated_at'))}."))


def _overview(data: dict[str, Any]) -> Html:
    cards = []
    production = data.get("production")
    cards.append(("Production adapter",
                  Html(esc(f"version {production.get('version')}")
                       + tag("small", f"revision {production.get('revision')}, "
                                      f"since {when(production.get('updated_at'))}"))
                  if production else Html(esc("none yet") + tag("small", "no adapter promoted"))))
    windows = [w for w in data.get("windows") or [] if w.get("n")]
    baseline = (data.get("baseline") or {}).get("mean_quality")
    if windows:
        latest = windows[-1]
        delta = (latest["mean_quality"] - baseline if isinstance(baseline, (int, float))
                 and isinstance(latest.get("mean_quality"), (int, float)) else None)
        detail = f"n = {latest['n']}, window {when(latest.get('start'))}" + (
            f"; {signed(delta, 3)} vs baseline {num(baseline)}" if delta is not None else "; no baseline")
        cards.append(("Latest mean quality", Html(esc(num(latest.get("mean_quality"))) + tag("small", detail))))
    else:
        cards.append(("Latest mean quality", Html(esc("no data yet") + tag("small", "no interactions scored"))))
    checks = data.get("drift") or []
    if checks:
        window = checks[-1].get("window")
        verdicts = [tag("span", f"{d.get('field')}s ", badge("drift", "bad") if d["report"].get("drift")
                        else badge("no drift", "ok"), class_="verdict")
                    for d in checks if d.get("window") == window]
        cards.append(("Latest drift check", Html(join(verdicts) + tag("small", f"window {when(window)}"))))
    else:
        cards.append(("Latest drift check", Html(esc("none yet") + tag("small", "no drift check stored"))))
    runs = data.get("runs") or []
    if runs:
        status = str(runs[-1].get("status"))
        cards.append(("Last pipeline run", Html(badge(status, RUN_TONES.get(status, "info"))
                                                + tag("small", when(runs[-1].get("recorded_at"))))))
    else:
        cards.append(("Last pipeline run", Html(esc("none yet") + tag("small", "the model was never retrained"))))
    return tag("dl", *(tag("div", tag("dt", title), tag("dd", value), class_="card") for title, value in cards),
               class_="cards")


def _flags(rates: dict[str, Any] | None) -> str:
    return ", ".join(f"{name} {pct(rate)}" for name, rate in sorted((rates or {}).items())) or "—"


def _quality(data: dict[str, Any]) -> Html:
    windows = data.get("windows") or []
    base = data.get("baseline")
    lead = (f"Baseline: the window of {when(base.get('start'))}, frozen {when(base.get('frozen_at'))} with adapter "
            f"version {base.get('adapter_version') if base.get('adapter_version') is not None else '—'}: mean quality "
            f"{num(base.get('mean_quality'))} over {base.get('n', 0)} interactions."
            if base else "No baseline frozen yet: drift and decay are measured against one once it is.")
    base_quality = (base or {}).get("mean_quality")
    rows = [(tag("span", when(w.get("start"), zone=False), class_="nowrap"), w.get("n", 0), num(w.get("mean_quality")),
             signed(w["mean_quality"] - base_quality, 3) if isinstance(w.get("mean_quality"), (int, float))
             and isinstance(base_quality, (int, float)) else "—",
             f"{pct(w.get('exact_match_rate'))} (n = {w.get('n_with_reference', 0)})",
             f"{num(w.get('mean_feedback'))} (n = {w.get('feedback_n', 0)})", _flags(w.get("flag_rates")))
            for w in reversed(windows)]
    details = tag("details", tag("summary", f"Window data ({len(windows)} windows, newest first)"),
                  table(["window start (UTC)", "interactions", "mean quality", "vs baseline", "exact match",
                         "mean feedback", "flag rates"], rows, numeric=(1, 2, 3, 4, 5), class_="compact")) \
        if windows else Html("")
    return _section("quality", "Quality over time", tag("p", lead, class_="lead"),
                    _figure(quality_chart(data), "Mean quality score of each window's interactions; the dashed "
                            "line is the frozen baseline. Hover a point for its numbers.",
                            "No data yet: no window of scored interactions is stored for this model."),
                    details)


def _examples(cluster: dict[str, Any]) -> Html:
    source = cluster.get("examples_from") or "?"
    items = [tag("li", _clip(text), " ", tag("span", f"({source})", class_="from"))
             for text in cluster.get("examples") or []]
    return tag("ul", *items, class_="examples") if items else esc(None)


def _clusters(check: dict[str, Any]) -> Html:
    report = check["report"]
    clusters = report.get("clusters") or []
    verdict = "drift" if report.get("drift") else "no drift"
    heading = tag("h3", f"{str(check.get('field')).capitalize()}s: window of {when(check.get('window'))} "
                        f"({verdict}, p = {pvalue(report.get('p_value'))})")
    if not clusters:
        return Html(heading + empty("This check stored no topic clusters."))
    rows = [(cluster.get("cluster"),
             Html(share_bars(float(cluster.get("share_baseline") or 0), float(cluster.get("share_current") or 0))),
             signed((cluster.get("delta") or 0) * 100, 1) + " pt", _examples(cluster))
            for cluster in clusters[:MAX_CLUSTERS]]
    tests = [(t.get("name"), t.get("test"), num(t.get("baseline")), num(t.get("current")),
              pvalue(t.get("p_value")), pvalue(t.get("p_adjusted")),
              badge("moved", "bad") if t.get("moved") else badge("steady", "muted"))
             for t in report.get("tests") or []]
    tests_table = tag("details", tag("summary", f"The {len(tests)} tests of this check"),
                      table(["test", "kind", "baseline", "current", "p", "p adjusted", ""], tests,
                            numeric=(2, 3, 4, 5), class_="compact")) if tests else Html("")
    return Html(heading + table(["cluster", "share: baseline / current", "change", "example texts"], rows,
                                numeric=(0, 2),
                                caption="Baseline topic clusters, largest change in share first") + tests_table
                + effects(report))


def _moved(report: dict[str, Any]) -> str:
    """The members that moved family-wise; on an alarm where none did alone, what the sum rests on."""
    moved = report.get("members_moved") or []
    if moved or not report.get("drift") or not report.get("members_leading"):
        return ", ".join(moved) or "—"
    return "none alone; the sum rests on " + ", ".join(report["members_leading"])


def _drift(data: dict[str, Any]) -> Html:
    checks = data.get("drift") or []
    if not checks:
        return _section("drift", "Drift", empty("No data yet: no drift check is stored for this model."))
    alpha = drift_alpha(data)
    rows = [(tag("span", when(d.get("window"), zone=False), class_="nowrap"), d.get("field"),
             badge("drift", "bad") if d["report"].get("drift") else badge("no drift", "ok"),
             pvalue(d["report"].get("p_value")), d["report"].get("alpha"), num(d["report"].get("statistic"), 4),
             num(d["report"].get("centroid_distance"), 4),
             f"{d['report'].get('n_baseline', '—')} / {d['report'].get('n_current', '—')}",
             _moved(d["report"]),
             ", ".join(d["report"].get("descriptors_moved") or []) or "—", d["report"].get("method"))
            for d in reversed(checks)]
    # Per field: the latest check that found drift (what moved), else the latest check.
    shown = []
    for field in sorted({str(d.get("field")) for d in checks}):
        of_field = [d for d in checks if str(d.get("field")) == field]
        shown.append(next((d for d in reversed(of_field) if d["report"].get("drift")), of_field[-1]))
    return _section(
        "drift", "Drift",
        tag("p", "Each window is tested against the baseline: MMD on sentence embeddings plus length and "
                 "quality descriptors, combined into one family-wise p-value. Drift when p ≤ alpha"
                 + (f" (alpha = {alpha:g})." if alpha is not None else "."), class_="lead"),
        _figure(pvalue_chart(data), "Filled markers: drift detected (p at or below the dashed alpha line). "
                "Prompts are circles, outputs squares.", "No data yet."),
        tag("details", tag("summary", f"All {len(checks)} drift checks, newest first"),
            table(["window (UTC)", "field", "verdict", "p", "alpha", "MMD²", "centroid dist.", "n base / cur",
                   "members moved", "descriptors moved", "method"], rows, numeric=(3, 4, 5, 6, 7), class_="compact")),
        tag("h3", "Topic clusters that moved"),
        tag("p", "For each field, the most recent check that found drift (or the latest check): how the share of "
                 "each baseline topic cluster changed, with example texts.", class_="note"),
        *(_clusters(check) for check in shown),
    )


def _gate_cell(gate: Any) -> Html:
    if not isinstance(gate, dict) or not gate:
        return esc(None)
    tone = "ok" if gate.get("decision") == "promote" else "warn"
    return Html(tag("span", badge(str(gate.get("decision")), tone), f" Δ {signed(gate.get('mean_improvement'))}",
                    class_="nowrap")
                + tag("span", f"CI [{signed(gate.get('ci_low'))}, {signed(gate.get('ci_high'))}]", class_="sub nowrap"))


def _data_cell(dataset: Any) -> str:
    if not isinstance(dataset, dict) or not dataset:
        return "—"
    available, required = dataset.get("available_records"), dataset.get("required_records")
    if dataset.get("enough") is False:
        return f"too few: {available} of {required} records"
    counts = (dataset.get("manifest") or {}).get("counts") or {}
    kept = counts.get("train") or counts.get("after_selection")
    return f"{available} records" + (f" → {kept} train" if kept is not None else "")


def _trigger_cell(run: dict[str, Any]) -> str:
    """The run's trigger, with the breach's ΔM and both means when the scheduled check started it."""
    reason = str(run.get("reason") or "—")
    check = run.get("trigger") if isinstance(run.get("trigger"), dict) else {}
    means = [check.get(k) for k in ("delta", "baseline_quality", "current_quality")]
    if not all(isinstance(m, (int, float)) for m in means):
        return reason
    delta, baseline, current = means
    return f"{reason}: ΔM = {num(delta)} (baseline {num(baseline)} → window {num(current)})"


def _run_detail(run: dict[str, Any]) -> str:
    if run.get("error") or run.get("cause"):
        return _clip(f"{run.get('error') or 'error'}: {run.get('cause') or ''}", 400)
    gate = run.get("gate") if isinstance(run.get("gate"), dict) else {}
    reasons = gate.get("reasons") or []
    if reasons:
        return _clip("; ".join(map(str, reasons)), 400)
    return _clip((run.get("dataset") or {}).get("message") or "", 400) or "—"


def _runs(data: dict[str, Any]) -> Html:
    runs = data.get("runs") or []
    if not runs:
        return _section("runs", "Pipeline runs", empty("No data yet: the retrain pipeline never ran for this model."))
    rows = [(tag("span", when(r.get("recorded_at"), zone=False), class_="nowrap"),
             tag("code", r.get("execution_name") or "—", class_="nowrap"),
             badge(str(r.get("status")), RUN_TONES.get(str(r.get("status")), "info")), _trigger_cell(r),
             _data_cell(r.get("dataset")), _gate_cell(r.get("gate")),
             r.get("version") if r.get("version") is not None else "—", tag("span", _run_detail(r), class_="detail"))
            for r in reversed(runs)]
    return _section(
        "runs", "Pipeline runs",
        tag("p", f"Every run of the retrain state machine ({len(runs)}), newest first.", class_="lead"),
        table(["finished (UTC)", "execution", "status", "trigger", "data", "gate (Δ loss, CI)", "version", "detail"],
              rows),
        _figure(gate_chart(runs), "Mean per-example eval-loss improvement of the challenger over the champion, "
                "with its bootstrap confidence interval; filled markers: the gate said promote "
                "(a reviewer may still reject).",
                "No run reached the gate yet."),
    )


def _gate(data: dict[str, Any]) -> Html:
    latest = _latest_gate(data)
    if latest is None:
        return _section("gate", "Evaluation gate", empty("No data yet: no challenger has been evaluated."))
    where, gate = latest
    config = gate.get("config") or {}
    confidence = config.get("confidence", 0.95)
    decision = str(gate.get("decision"))
    facts = _facts([
        ("decided for", where),
        ("decision", badge(decision, "ok" if decision == "promote" else "warn")),
        ("primary metric", f"{gate.get('primary_metric', 'eval_loss')} (lower is better), {gate.get('n_pairs', '—')} "
                           "paired examples"),
        ("champion mean", num(gate.get("champion_mean"), 4)),
        ("challenger mean", num(gate.get("challenger_mean"), 4)),
        ("improvement", signed(gate.get("mean_improvement"))),
        (f"{pct(confidence, 0)} CI", f"[{signed(gate.get('ci_low'))}, {signed(gate.get('ci_high'))}]"),
        ("minimum gain", config.get("min_gain", "—")),
    ])
    reasons = tag("ul", *(tag("li", reason) for reason in gate.get("reasons") or []), class_="reasons")
    guards = [(g.get("name"), num(g.get("champion"), 4), num(g.get("challenger"), 4), g.get("margin"),
               badge("passed", "ok") if g.get("passed") else badge("failed", "bad"), g.get("detail") or "—")
              for g in gate.get("guards") or []]
    return _section(
        "gate", "Evaluation gate",
        tag("p", "The latest comparison of a challenger adapter with the champion on the same examples.",
            class_="lead"),
        facts, tag("h3", "Reasons"), reasons, tag("h3", "Guards"),
        table(["guard", "champion", "challenger", "margin", "result", "detail"], guards, numeric=(1, 2, 3))
        if guards else empty("No guards were evaluated."),
    )


def _loss(training: Any, split: str) -> str:
    loss = (training.get("loss") if isinstance(training, dict) else None) or {}
    before, after = loss.get(f"{split}_before"), loss.get(f"{split}_after")
    return "—" if before is None and after is None else f"{num(before, 3)} → {num(after, 3)}"


def _registry(data: dict[str, Any]) -> Html:
    versions = data.get("versions") or []
    production = data.get("production") or {}
    history = data.get("alias_history") or []
    if versions:
        rows = [(tag("span", v.get("version"), " ", badge("production", "info")
                     if v.get("version") == production.get("version") else "", class_="nowrap"),
                 tag("span", when(v.get("created_at"), zone=False), class_="nowrap"), _gate_cell(v.get("gate")),
                 v.get("approval") or "—",
                 _loss(v.get("training"), "eval"), _loss(v.get("training"), "train"), v.get("base_model") or "—",
                 tag("code", str(v.get("sha256") or "")[:12] or "—", title=v.get("sha256")),
                 tag("code", v.get("s3_uri") or "—", class_="uri"))
                for v in reversed(versions)]
        versions_html = table(["version", "registered (UTC)", "gate", "approval", "eval loss", "train loss",
                               "base model", "sha256", "artifact"], rows, numeric=(0,))
    else:
        versions_html = empty("No data yet: no adapter version is registered.")
    current = (tag("p", f"production → version {production.get('version')} (revision {production.get('revision')}, "
                        f"updated {when(production.get('updated_at'))}).", class_="lead")
               if production
               else tag("p", "production points to no adapter yet (the base model serves).", class_="lead"))
    history_html = table(
        ["revision", "moved at (UTC)", "from", "to", "actor", "reason"],
        [(h.get("revision"), when(h.get("at"), zone=False),
          h.get("from_version") if h.get("from_version") is not None else "—",
          h.get("to_version"), _actor(h.get("actor")), h.get("reason") or "—") for h in reversed(history)],
        numeric=(0, 2, 3)) if history else empty("No data yet: the production alias never moved.")
    versions_title = f"Versions ({len(versions)}), newest first" if versions else "Versions"
    return _section("registry", "Adapter registry", tag("h3", versions_title),
                    versions_html, tag("h3", "Production alias history"), current, history_html)


def _footer(data: dict[str, Any]) -> Html:
    table_name = (data.get("source") or {}).get("table")
    source = f" from the state table {table_name}" if table_name else ""
    return tag("footer", f"Generated by driftgate report{source} at {when(data.get('generated_at'))} "
                         f"(snapshot schema {data.get('schema', '?')}).")


def render_report(data: dict[str, Any]) -> str:
    """The whole page for one snapshot; the same snapshot always gives the same HTML."""
    model = data.get("model") or "unknown model"
    nav = tag("nav", join((tag("a", title, href=f"#{anchor}") for anchor, title in (
        ("quality", "Quality"), ("drift", "Drift"), ("runs", "Runs"), ("gate", "Gate"), ("canaries", "Canaries"),
        ("registry", "Registry"), ("cost", "Cost"))),
        " · "), aria_label="Sections")
    body = tag("main", _header(data), nav, _overview(data), _quality(data), _drift(data), _runs(data), _gate(data),
               canary_section(data), _registry(data), cost_section(data), _footer(data))
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(f'driftgate report: {model}')}</title><style>{CSS}</style></head>"
            f"<body>{body}</body></html>\n")


def report_path(model: str, out_dir: Path) -> Path:
    """``driftgate-report-<model>.html``; characters unsafe in a file name become ``-``."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", model).strip("-.") or "model"
    return out_dir / f"driftgate-report-{safe}.html"


def write_report(data: dict[str, Any], out_dir: Path) -> Path:
    """Renders ``data`` into ``out_dir`` (created if needed) and returns the file written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = report_path(str(data.get("model") or "model"), out_dir)
    path.write_text(render_report(data), encoding="utf-8")
    return path


def _actor(actor: str | None) -> str:
    """A pipeline run moves production under its execution ARN: its name is what the console lists."""
    if actor and actor.startswith("arn:aws:states:"):
        return f"run {actor.rsplit(':', 1)[-1]}"
    return actor or "—"
