"""``driftgate report``: from a snapshot file, from a state table (moto), and bad input."""
from __future__ import annotations

import json

import pytest
import typer
from moto import mock_aws
from typer.testing import CliRunner

from driftgate.commands import report
from tests.report.sample import create_state_table


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Group, as in driftgate.cli (a lone command would become the app itself)."""

    report.register(app)
    return app


def test_renders_a_saved_snapshot(app, sample_data, sample_html, tmp_path) -> None:
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text(json.dumps(sample_data))
    result = CliRunner().invoke(app, ["report", "--data", str(snapshot), "--out", str(tmp_path / "html")])
    assert result.exit_code == 0, result.output
    written = tmp_path / "html" / "driftgate-report-support-bot.html"
    assert result.stdout.strip() == str(written) and written.read_text() == sample_html


def test_reads_a_state_table(app, tmp_path) -> None:
    with mock_aws():
        state = create_state_table("stack-state", region="eu-west-1")
        state.put({"pk": "MODEL#bot", "sk": "WINDOW#2026-11-01T00:00:00+00:00", "start": "2026-11-01T00:00:00+00:00",
                   "n": 10, "sum_quality": 7.0})
        result = CliRunner().invoke(app, ["report", "--model", "bot", "--table", "stack-state", "--region", "eu-west-1",
                                          "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "driftgate-report-bot.html").read_text()
    assert 'data-series="quality"' in html and "from the state table stack-state" in html


@pytest.mark.parametrize(("args", "message"), [
    ([], "--model is required"),
    (["--model", "bot"], "--table is required"),
    (["--data", "nope.json"], "--data: nope.json: no such file"),
    (["--data", "{bad}"], "not valid JSON"),
    (["--data", "{list}"], "not a report snapshot"),
    (["--data", "{list}", "--model", "bot"], "leave out --model"),
    (["--data", "{list}", "--out", "{list}"], "--out:"),
])
def test_bad_input_is_one_line_and_exit_2(app, tmp_path, monkeypatch, args, message) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad").write_text("{not json")
    (tmp_path / "list").write_text("[]")
    args = [a.format(bad=tmp_path / "bad", list=tmp_path / "list") for a in args]
    result = CliRunner().invoke(app, ["report", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_missing_table_names_the_option(app, tmp_path) -> None:
    with mock_aws():
        result = CliRunner().invoke(app, ["report", "--model", "bot", "--table", "nope", "--region", "us-east-1",
                                          "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--table: no DynamoDB table 'nope' in region us-east-1" in result.output


def test_registered_in_the_cli() -> None:
    from driftgate.cli import app as cli

    result = CliRunner().invoke(cli, ["report", "--help"])
    assert result.exit_code == 0 and "--data" in result.output
