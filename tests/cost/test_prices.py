"""The committed price tables: every price has a unit, a source, a date and the table's region; the
demo measurements match the stack they were measured on."""
from __future__ import annotations

import json
from datetime import date

import pytest

from driftgate.cost.measure import DEFAULT_MEASUREMENTS, load_measurements
from driftgate.cost.prices import PRICES_DIR, REQUIRED, load_prices

TABLES = sorted(PRICES_DIR.glob("*.json"))


def test_there_is_a_table() -> None:
    assert [t.stem for t in TABLES] == ["us-east-1"]


@pytest.mark.parametrize("path", TABLES, ids=lambda p: p.stem)
def test_every_price_is_dated_sourced_and_in_the_tables_region(path) -> None:
    raw = json.loads(path.read_text())
    table = load_prices(path)  # the schema: units, https sources, dates, a note each
    assert table.region == path.stem == raw["region"]
    assert set(REQUIRED) <= set(table.prices)
    for name, entry in raw["prices"].items():
        assert {"price", "per", "unit", "region", "as_of", "source", "verified", "note"} <= set(entry), name
        assert entry["region"] == path.stem and date.fromisoformat(entry["as_of"]) <= date.today(), name
        if not entry["verified"]:
            assert "verif" in entry["note"] or "checked" in entry["note"], f"{name}: say why it is not verified"
    spot = table.assumptions["sagemaker_spot_discount"]
    assert 0 < spot.value < 1 and "assum" in spot.note


def test_the_demo_measurements_match_the_stacks_functions(synthesized_template) -> None:
    measured = load_measurements(DEFAULT_MEASUREMENTS)
    functions = {lid: r["Properties"] for lid, r in synthesized_template["Resources"].items()
                 if r["Type"] == "AWS::Lambda::Function"}
    for name, config in measured.functions.items():
        (props,) = [p for lid, p in functions.items() if lid.startswith(name)]
        assert props["MemorySize"] == config.memory_mb, f"{name}: re-run benchmarks/bench_cost.py"
        assert (props.get("Architectures") or ["x86_64"])[0] == config.architecture
    table = load_prices(PRICES_DIR / "us-east-1.json")
    for job in measured.phases["retrain"].sagemaker_jobs:
        assert table.instance_hour(job.instance_type) > 0
