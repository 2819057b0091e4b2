"""``driftgate drift``: JSON last line, and bad input as exit code 2 with no traceback."""
from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from driftgate.commands import drift
from tests.drift.conftest import prompt_windows


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Group, as in driftgate.cli (a lone command would become the app itself)."""

    drift.register(app)
    return app


def write(path, records) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def prompt_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("windows")
    baseline, current = prompt_windows(100)  # the detector tests' windows: embeddings already cached
    return write(folder / "base.jsonl", baseline[:60]), write(folder / "cur.jsonl", current[:60])


@pytest.mark.slow
def test_json_last_line_is_the_report(app, prompt_files, embedder):
    result = CliRunner().invoke(app, ["drift", *prompt_files, "--field", "prompt", "--sample", "50", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("drift", "p_value", "statistic", "method", "n_baseline", "n_current", "field", "clusters"):
        assert key in report
    assert report["field"] == "prompt" and report["n_baseline"] == report["n_current"] == 50
    assert isinstance(report["drift"], bool) and 0 < report["p_value"] <= 1
    assert report["clusters"][0]["examples"]
    assert report["divergences"]["kind"] == "effect-sizes" and report["divergences"]["psi"]
    assert report["decay_decomposition"] is None  # these records carry no quality


@pytest.mark.slow
def test_json_splits_the_decay_when_records_carry_a_quality(app, tmp_path, embedder):
    # Mixtral's answers (baseline) and alpaca-7b's (current) to the detector tests' prompt windows,
    # scored against GPT-4-turbo's: the split is over those prompts' topics, for either field.
    from functions.scoring import score
    from tests.drift.conftest import MIXTRAL, index, load

    def answered(records, generator):
        rows = [load(generator)[index(r)] for r in records[:40]]
        return [{**row, "scores": {"quality": score(row["prompt"], row["output"], row["reference"]).quality}}
                for row in rows]

    baseline, current = prompt_windows(100)
    files = [write(tmp_path / "b.jsonl", answered(baseline, MIXTRAL)), write(tmp_path / "c.jsonl",
                                                                             answered(current, "alpaca-7b"))]
    result = CliRunner().invoke(app, ["drift", *files, "--field", "prompt", "--json", "--permutations", "19"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    split = report["decay_decomposition"]
    assert split["n_baseline"] == split["n_current"] == 40 and split["unscored_current"] == 0
    assert split["delta"] > 0.05 and split["mix"] + split["within"] == pytest.approx(split["delta"])
    # For the prompt field its topics are the report's own clusters (same embeddings, k and seed).
    assert len(split["clusters"]) == len(report["clusters"])
    shares = {c["cluster"]: c["share_baseline"] for c in report["clusters"]}
    assert all(c["weight_baseline"] == pytest.approx(shares[c["cluster"]]) for c in split["clusters"])
    text = CliRunner().invoke(app, ["drift", *files, "--field", "prompt", "--permutations", "19"])
    assert "Quality decay ΔM" in text.stdout and "Effect sizes" in text.stdout


@pytest.mark.slow
def test_human_readable_by_default(app, prompt_files, embedder):
    result = CliRunner().invoke(app, ["drift", *prompt_files, "--field", "prompt", "--sample", "50"])
    assert result.exit_code == 0, result.output
    assert "DRIFT in prompts" in result.stdout and "Tests" in result.stdout and "cluster" in result.stdout


def test_missing_file(app, tmp_path):
    result = CliRunner().invoke(app, ["drift", str(tmp_path / "nope.jsonl"), str(tmp_path / "nope2.jsonl")])
    assert result.exit_code == 2
    assert "nope.jsonl: no such file" in result.output
    assert "Traceback" not in result.output


def test_records_without_the_field(app, tmp_path):
    gsm8k_like = [{"prompt": f"question {i}", "output": None} for i in range(30)]
    path = write(tmp_path / "q.jsonl", gsm8k_like)
    result = CliRunner().invoke(app, ["drift", path, path, "--field", "output"])
    assert result.exit_code == 2
    assert "line 1" in result.output and "'output'" in result.output


def test_too_few_records_and_bad_json(app, tmp_path):
    few = write(tmp_path / "few.jsonl", [{"prompt": "hi", "output": "hello"}] * 3)
    result = CliRunner().invoke(app, ["drift", few, few])
    assert result.exit_code == 2 and "3 records" in result.output
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"prompt": "a", "output": "b"}\n{not json\n')
    result = CliRunner().invoke(app, ["drift", str(broken), few])
    assert result.exit_code == 2 and "line 2: not valid JSON" in result.output
    assert "Traceback" not in result.output
