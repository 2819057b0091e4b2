"""``driftgate cost``: C_total = C_compute + C_storage + C_maintenance at a given traffic, from
measured usage (``benchmarks/bench_cost.py``) and a dated AWS price table."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from driftgate.commands import fail


def _print_report(report: Any, console: Any) -> None:
    from rich.table import Table

    from driftgate.cost.tables import context_lines, sections

    source, traffic, verified = context_lines(report)
    console.print(source, highlight=False)
    console.print(traffic, highlight=False)
    for section in sections(report):
        rendered = Table(title=section.title, title_justify="left")
        for i, header in enumerate(section.headers):
            rendered.add_column(header, justify="right" if i in section.numeric else "left")
        for row in section.rows:
            rendered.add_row(*row)
        console.print(rendered)
    console.print(verified, highlight=False)


def cost(
    interactions_per_day: float = typer.Option(10_000, "--interactions-per-day", min=0, help="Traffic to price."),
    retrains_per_month: float = typer.Option(2, "--retrains-per-month", min=0),
    models: int = typer.Option(1, "--models", min=1, help="Monitored models (each checked on the schedule)."),
    checks_per_day: float | None = typer.Option(None, "--checks-per-day", min=0,
                                                help="Drift checks per model per day (default: the schedule)."),
    region: str | None = typer.Option(None, "--region", help="Price table to use: driftgate/cost/prices/REGION.json "
                                      "(default us-east-1, the only one kept so far)."),
    prices: Path | None = typer.Option(None, "--prices", help="A price table file instead of the region's."),
    measurements: Path | None = typer.Option(None, "--measurements",
                                             help="Measured usage (benchmarks/bench_cost.py); default: the demo's."),
    on_demand: bool = typer.Option(False, "--on-demand", help="Price SageMaker jobs on demand, not spot."),
    spot_discount: float | None = typer.Option(None, "--spot-discount", min=0.0, max=1.0,
                                               help="Spot saving as a fraction (default: the table's assumption)."),
    sagemaker_seconds: float | None = typer.Option(None, "--sagemaker-seconds", min=0,
                                                   help="SageMaker job seconds per retrain on the configured instance "
                                                        "(default: the local jobs' measured seconds)."),
    horizon_months: float = typer.Option(12, "--horizon-months", min=0,
                                         help="Months DynamoDB items that never expire are priced as kept."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON line."),
) -> None:
    """Price the stack: per 1M interactions, per retrain and per month at a given traffic, with the
    throughput of each stage, from measured durations and a dated AWS price table."""
    from rich.console import Console

    from driftgate.cost.estimate import estimate
    from driftgate.cost.files import CostInputError
    from driftgate.cost.model import Traffic

    try:
        traffic = Traffic(interactions_per_day=interactions_per_day, retrains_per_month=retrains_per_month,
                          models=models, checks_per_day=checks_per_day, spot=not on_demand,
                          spot_discount=spot_discount, sagemaker_seconds=sagemaker_seconds,
                          horizon_months=horizon_months)
        report = estimate(traffic, region=region, prices=prices, measurements=measurements)
    except CostInputError as error:
        raise fail(error) from None
    if as_json:
        print(report.model_dump_json())
    else:
        _print_report(report, Console())


def register(app: typer.Typer) -> None:
    app.command("cost")(cost)
