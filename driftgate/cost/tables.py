"""The cost report as rows of text, shared by the terminal (``driftgate cost``) and the HTML report."""
from __future__ import annotations

from typing import NamedTuple

from driftgate.cost.model import CostReport

SUMMARY_HEADERS = ("", "compute", "storage", "maintenance", "total")
LINE_HEADERS = ("service", "meter", "quantity", "unit", "USD")
THROUGHPUT_HEADERS = ("stage", "N", "t (s)", "T (per s)")


def money(value: float) -> str:
    return f"${value:,.2f}" if value >= 0.01 or value == 0 else f"${value:.2g}"


def summary_rows(report: CostReport) -> list[tuple[str, ...]]:
    month, million = report.per_month, report.per_1m_interactions
    retrain, check = money(report.per_retrain.total), money(report.per_check.total)
    return [("per month", *(money(month[k]) for k in ("compute", "storage", "maintenance", "total"))),
            ("per 1M interactions", money(million["compute"]), money(million["storage"]), "", money(million["total"])),
            ("per retrain", "", "", retrain, retrain),
            ("per drift check (one model)", "", "", check, check)]


def largest_lines(report: CostReport, limit: int = 12) -> list[tuple[str, ...]]:
    return [(line.service, line.meter, f"{line.quantity:,.4g}", line.unit, money(line.cost))
            for line in sorted(report.monthly_lines, key=lambda x: -x.cost)[:limit]]


def throughput_rows(report: CostReport) -> list[tuple[str, ...]]:
    return [(t.stage, f"{t.n:,.0f} {t.unit}", f"{t.seconds:,.2f}", f"{t.per_second:,.3g}") for t in report.throughput]


class Section(NamedTuple):
    title: str
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]
    numeric: tuple[int, ...]  # right-aligned columns


def sections(report: CostReport) -> list[Section]:
    return [Section("C_total = C_compute + C_storage + C_maintenance (USD)", SUMMARY_HEADERS, summary_rows(report),
                    (1, 2, 3, 4)),
            Section("Largest monthly lines", LINE_HEADERS, largest_lines(report), (2, 4)),
            Section("Throughput T = N/t (one function instance or job)", THROUGHPUT_HEADERS, throughput_rows(report),
                    (1, 2, 3))]


def context_lines(report: CostReport) -> tuple[str, str, str]:
    """Where the figures come from, the traffic they are for, and how much of them is verified."""
    t, m, p = report.traffic, report.measurements, report.prices
    spot = "spot" if t["spot"] else "on-demand"
    return (f"Prices: {p['region']}, as of {p['as_of']}. "
            f"Measured: {m['workload']} ({m['measured_on']}, {m['commit']}).",
            f"Traffic: {t['interactions_per_day']:,.0f} interactions/day, {t['retrains_per_month']:g} retrains/month, "
            f"{t['models']} model(s) checked {t['checks_per_day_per_model']:g} times a day, SageMaker {spot}.",
            f"{report.verified_share:.0%} of the monthly total is priced with prices verified on {p['as_of']} "
            "(the price table's 'verified' and 'note' fields say which).")
