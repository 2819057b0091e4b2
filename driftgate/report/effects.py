"""Beside a drift check's decision: its effect sizes (divergences) and, on the prompt report, the
quality decay split into the prompt mix moving (data drift) and quality falling within a topic
(concept drift). Both read as absent in snapshots older than them."""
from __future__ import annotations

from typing import Any

from driftgate.report.markup import MISSING, Html, esc, num, pct, signed, table, tag

MAX_TOPICS = 6


def _divergences(d: dict[str, Any]) -> Html:
    sizes = ", ".join(f"{r.get('name')} {num(r.get('psi'))} ({r.get('size')})" for r in d.get("psi") or [])
    return tag("p", tag("strong", "Effect sizes"), f" ({d.get('note', 'not tests')}): topic clusters "
               f"KL(current‖baseline) = {num(d.get('cluster_kl'), 4)}, Jensen–Shannon = "
               f"{num(d.get('cluster_js'), 4)} {d.get('unit', 'nats')} (pseudo-count {d.get('pseudo_count')} per "
               f"cluster); PSI per descriptor: {sizes or MISSING} (convention: < 0.1 small, 0.1–0.25 moderate, "
               "> 0.25 large).", class_="note")


def _share(value: Any) -> str:
    return pct(value, 0) if isinstance(value, (int, float)) else MISSING


def _decomposition(split: dict[str, Any]) -> Html:
    rows = [(row.get("cluster"), f"{pct(row.get('weight_baseline'), 0)} / {pct(row.get('weight_current'), 0)}",
             f"{num(row.get('quality_baseline'))} / {num(row.get('quality_current'))}", signed(row.get("mix")),
             signed(row.get("within")), (row.get("examples") or [MISSING])[0])  # clipped when stored
            for row in (split.get("clusters") or [])[:MAX_TOPICS]]
    lead = tag("p", tag("strong", "Quality decay, concept vs data drift"),
               f": ΔM = {signed(split.get('delta'))} over {split.get('n_baseline')} / {split.get('n_current')} "
               f"sampled scored records = mix {signed(split.get('mix'))} ({_share(split.get('mix_share'))}, the "
               f"prompt topics' mix moving: data drift) + within {signed(split.get('within'))} "
               f"({_share(split.get('within_share'))}, quality falling inside a topic: concept drift). Left out "
               f"for want of a quality: {split.get('unscored_baseline', 0)} / {split.get('unscored_current', 0)}.",
               class_="note")
    return Html(lead + table(["topic", "weight: baseline / current", "quality: baseline / current", "mix", "within",
                              "example prompt"], rows, numeric=(0, 3, 4), class_="compact",
                             caption="Prompt topics, largest part of ΔM first"))


def effects(report: dict[str, Any]) -> Html:
    """The report's divergences and decay split, each only when the check stored it."""
    parts = [_divergences(report["divergences"])] if report.get("divergences") else []
    if report.get("decay_decomposition"):
        parts.append(_decomposition(report["decay_decomposition"]))
    return Html("".join(esc(part) for part in parts))
