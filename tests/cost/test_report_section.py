"""The HTML report's cost section: the figures of the fixed input, a note when a snapshot has none,
and ``driftgate report --cost-interactions-per-day`` adding it from the committed measurements."""
from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from driftgate.commands import report as report_command
from driftgate.cost.measure import Measurements
from driftgate.cost.model import Traffic, cost_report
from driftgate.cost.prices import PriceTable
from driftgate.report import render_report
from driftgate.report.cost import attach_cost


def test_section_shows_the_totals(fixed_prices, fixed_measurements) -> None:
    report = cost_report(Measurements.model_validate(fixed_measurements), PriceTable.model_validate(fixed_prices),
                         Traffic(interactions_per_day=1000, retrains_per_month=2, models=2))
    page = render_report(attach_cost({"model": "bot"}, report))
    section = page[page.index('<h2 id="cost">'):page.index("</section>", page.index('<h2 id="cost">'))]
    # test_model's hand totals: $30.01 a month, $506.19 + $2.22 per 1M interactions, $0.52 per retrain.
    assert "<td>per month</td>" in section and '<td class="num">$30.01</td>' in section
    assert '<td class="num">$508.40</td>' in section and '<td class="num">$0.52</td>' in section
    assert "Throughput T = N/t" in section and "1,000 interactions/day" in section
    assert '<a href="#cost">Cost</a>' in page


def test_snapshot_without_cost_says_so() -> None:
    assert "No cost figures in this snapshot" in render_report({"model": "bot"})


def test_report_command_adds_the_section(tmp_path) -> None:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Group, as in driftgate.cli."""

    report_command.register(app)
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text(json.dumps({"model": "bot"}))
    result = CliRunner().invoke(app, ["report", "--data", str(snapshot), "--out", str(tmp_path),
                                      "--cost-interactions-per-day", "10000"])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "driftgate-report-bot.html").read_text()
    assert "Prices: us-east-1, as of 2026-12-02" in page and "10,000 interactions/day" in page
