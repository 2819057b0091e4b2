"""``driftgate cost``: the JSON shape, the human table, and one-line errors naming the file and field."""
from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from driftgate.commands import cost


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Group, as in driftgate.cli."""

    cost.register(app)
    return app


def run(app, *args: str):
    return CliRunner().invoke(app, ["cost", *args])


def test_json_on_the_fixed_input(app, write_json, fixed_prices, fixed_measurements) -> None:
    prices, measured = write_json("p.json", fixed_prices), write_json("m.json", fixed_measurements)
    result = run(app, "--prices", str(prices), "--measurements", str(measured), "--interactions-per-day", "1000",
                 "--retrains-per-month", "2", "--models", "2", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(report["per_month"]) == {"compute", "storage", "maintenance", "total"}
    assert report["per_month"]["total"] == pytest.approx(30.013905, rel=1e-6)  # test_model's hand total
    assert report["prices"] == {"file": str(prices), "region": "test-1", "as_of": "2026-12-01"}
    assert report["traffic"]["checks_per_day_per_model"] == 24  # the measured schedule's
    assert {t["stage"] for t in report["throughput"]} >= {"ingest", "drift check", "training (local CPU)"}
    assert all({"service", "meter", "quantity", "unit", "price", "unit_price", "cost"} <= set(line)
               for line in report["per_retrain"]["lines"])


def test_defaults_price_the_committed_demo_measurements(app) -> None:
    result = run(app, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["prices"]["region"] == "us-east-1" and report["measurements"]["file"].endswith("demo.json")
    assert report["per_month"]["total"] > 0 and report["per_retrain"]["total"] > 0
    longer = json.loads(run(app, "--json", "--horizon-months", "24").stdout.strip().splitlines()[-1])
    assert longer["traffic"]["dynamodb_kept_months"] == 24  # the demo's items have no TTL
    assert longer["per_1m_interactions"]["storage"] > report["per_1m_interactions"]["storage"]
    human = run(app, "--interactions-per-day", "5000")
    assert human.exit_code == 0, human.output
    assert "per 1M interactions" in human.stdout and "Throughput T = N/t" in human.stdout


@pytest.mark.parametrize(("edit", "message"), [
    (lambda p, m: p["prices"]["lambda_requests"].pop("unit"), "--prices: {p}: field prices.lambda_requests.unit: "
                                                               "Field required"),
    (lambda p, m: p["prices"].pop("kms_requests"), "--prices: {p}: prices.kms_requests is missing"),
    (lambda p, m: p["prices"]["waf_rule"].update(as_of="last year"), "field prices.waf_rule.as_of"),
    (lambda p, m: m["phases"]["ingest"]["usage"].update(dynamodb_wru=-1),
     "--measurements: {m}: field phases.ingest: usage.dynamodb_wru is negative"),
    (lambda p, m: m["phases"]["drift_check"]["lambda_seconds"].update(Gone=1.0),
     "--measurements: {m}: phases.drift_check.lambda_seconds.Gone: no such function in 'functions'"),
    (lambda p, m: m["phases"]["retrain"].update(units=0), "field phases.retrain.units: Input should be greater than 0"),
    (lambda p, m: m["phases"]["retrain"]["sagemaker_jobs"][0].update(instance_type="ml.p5.48xlarge"),
     "--prices: no price prices.sagemaker_training_ml.p5.48xlarge for the configured training instance"),
])
def test_bad_files_name_the_field(app, write_json, fixed_prices, fixed_measurements, edit, message) -> None:
    edit(fixed_prices, fixed_measurements)
    prices, measured = write_json("p.json", fixed_prices), write_json("m.json", fixed_measurements)
    result = run(app, "--prices", str(prices), "--measurements", str(measured))
    assert result.exit_code == 2
    assert message.format(p=prices, m=measured) in " ".join(result.output.split())


def test_bad_json_names_the_line_and_a_missing_file_or_region(app, write_json, tmp_path) -> None:
    broken = write_json("broken.json", '{\n  "schema": 1,\n  "region": \n}')
    result = run(app, "--prices", str(broken))
    assert result.exit_code == 2 and "not valid JSON at line 4, column 1 (Expecting value)" in result.output
    result = run(app, "--measurements", str(tmp_path / "absent.json"))
    assert result.exit_code == 2 and "--measurements:" in result.output and "no such file" in result.output
    result = run(app, "--region", "xx-nowhere-1")
    assert result.exit_code == 2 and "--region: no price table for xx-nowhere-1 (have: us-east-1)" in result.output
