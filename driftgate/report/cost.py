"""The report's cost section: ``driftgate cost``'s figures (C_total = C_compute + C_storage +
C_maintenance, throughput per stage) at the traffic the report was asked for.

Snapshot part: ``cost``, a ``driftgate.cost.model.CostReport`` as JSON (``attach_cost``); older
snapshots without it render a "no figures" note."""
from __future__ import annotations

from typing import Any

from driftgate.cost.model import CostReport
from driftgate.cost.tables import context_lines, sections
from driftgate.report.markup import Html, empty, table, tag


def attach_cost(data: dict[str, Any], report: CostReport) -> dict[str, Any]:
    return {**data, "cost": report.model_dump(mode="json")}


def cost_section(data: dict[str, Any]) -> Html:
    title = tag("h2", "Cost", id="cost")
    if not isinstance(data.get("cost"), dict):
        return tag("section", title, empty("No cost figures in this snapshot: pass --cost-interactions-per-day to "
                                           "driftgate report."), aria_labelledby="cost")
    report = CostReport.model_validate(data["cost"])
    source, traffic, verified = context_lines(report)
    tables = (table(t.headers, t.rows, caption=t.title, numeric=t.numeric) for t in sections(report))
    return tag("section", title, tag("p", source), tag("p", traffic), *tables, tag("p", verified),
               aria_labelledby="cost")
