"""Load the price table and the measurements (the defaults or given files) and price a traffic."""
from __future__ import annotations

from pathlib import Path

from driftgate.cost.files import CostInputError
from driftgate.cost.measure import DEFAULT_MEASUREMENTS, load_measurements
from driftgate.cost.model import CostReport, Traffic, cost_report
from driftgate.cost.prices import DEFAULT_REGION, PRICES_DIR, default_prices, load_prices


def estimate(traffic: Traffic, *, region: str | None = None, prices: Path | None = None,
             measurements: Path | None = None) -> CostReport:
    """Raises CostInputError (one line naming the option, file and field) on bad input."""
    prices_path = prices or default_prices(region or DEFAULT_REGION)
    if prices is None and not prices_path.is_file():
        have = ", ".join(sorted(p.stem for p in PRICES_DIR.glob("*.json")))
        raise CostInputError(f"--region: no price table for {region} (have: {have}); pass --prices FILE")
    table = load_prices(prices_path)
    if region is not None and region != table.region:
        raise CostInputError(f"--region {region}: the table at --prices is for {table.region}")
    measured_path = measurements or DEFAULT_MEASUREMENTS
    return cost_report(load_measurements(measured_path), table, traffic, prices_file=str(prices_path),
                       measurements_file=str(measured_path))
