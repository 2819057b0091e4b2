"""``driftgate canary simulate`` on the real AlpacaEval files, and its errors on bad input."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from driftgate.cli import app
from driftgate.testing.canary import ALPACA, GPT4, MIXTRAL, alpaca_path

KEYS = {"decision", "n_control", "n_treatment", "looks", "p_value", "ci", "mean_control", "mean_treatment",
        "stopped_at"}


def invoke(*args: str):
    return CliRunner().invoke(app, ["canary", "simulate", *args])


def summary(*args: str) -> dict:
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_better_staging_is_promoted() -> None:
    s = summary("--control", str(alpaca_path(ALPACA)), "--treatment", str(alpaca_path(MIXTRAL)), "--seed", "0")
    assert KEYS <= set(s)
    assert s["decision"] == "promote" and s["reason"].startswith("staging is better")
    assert s["n_control"] + s["n_treatment"] == s["stopped_at"] == s["looks"] < s["interactions"] == 805
    assert min(s["n_control"], s["n_treatment"]) >= 30
    assert s["mean_treatment"] > s["mean_control"] and s["ci"][0] > 0.01 and s["p_value"] <= 0.05
    assert s["with_reference"] and s["self_referenced"] == 0


def test_a_worse_staging_is_rolled_back_at_a_small_share() -> None:
    s = summary("--control", str(alpaca_path(MIXTRAL)), "--treatment", str(alpaca_path(ALPACA)), "--share", "0.1",
                "--seed", "2")
    assert s["decision"] == "rollback" and s["ci"][1] < 0 and s["share"] == 0.1
    assert s["n_treatment"] < s["n_control"]


def test_the_same_file_on_both_arms_is_inconclusive_and_seeds_replay_exactly() -> None:
    args = ("--control", str(alpaca_path(ALPACA)), "--treatment", str(alpaca_path(ALPACA)), "--seed", "3")
    s = summary(*args)
    assert s["decision"] == "inconclusive" and s["stopped_at"] == s["looks"] == 805
    assert s["ci"][0] < 0 < s["ci"][1]
    assert summary(*args) == s
    other = summary(*args[:-1], "4")
    assert (other["n_control"], other["mean_control"]) != (s["n_control"], s["mean_control"])


def test_scoring_with_and_without_the_records_references() -> None:
    args = ("--control", str(alpaca_path(ALPACA)), "--treatment", str(alpaca_path(GPT4)))
    with_ref, without = summary(*args), summary(*args, "--no-reference")
    # AlpacaEval's reference is gpt4_1106_preview's own answer: that arm scores ~1 against itself.
    assert with_ref["self_referenced"] >= 30 and with_ref["mean_treatment"] > 0.99
    assert without["self_referenced"] == 0 and not without["with_reference"] and without["mean_treatment"] < 0.99


def test_the_human_summary() -> None:
    result = invoke("--control", str(alpaca_path(ALPACA)), "--treatment", str(alpaca_path(MIXTRAL)))
    assert result.exit_code == 0, result.output
    assert "production (control)" in result.stdout and "staging (treatment)" in result.stdout
    assert "promote after" in result.stdout and "always-valid p" in result.stdout


def lines(path: Path, records: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8")
    return path


def real(n: int = 3) -> list[dict]:
    with alpaca_path(ALPACA).open(encoding="utf-8") as f:
        return [json.loads(next(f)) for _ in range(n)]


@pytest.mark.parametrize(("bad", "message"), [
    ("{not json", "line 2: not valid JSON"),
    ({"prompt": "p", "output": "o"}, "line 2: missing field 'id'"),
    ({"id": "alpaca-7b-001", "prompt": "p", "output": "o"}, "line 2: field 'id' must be '<generator>:<index>'"),
    ({"id": 7, "prompt": "p", "output": "o"}, "line 2: field 'id' must be '<generator>:<index>'"),
    ({"id": "alpaca-7b:001", "prompt": "p", "output": None}, "line 2: field 'output' is null"),
    ({"id": "alpaca-7b:000", "prompt": "p", "output": "o"}, "line 2: field 'id': instruction index 0 again "
                                                            "(first on line 1)"),
    ({"id": "alpaca-7b:001", "prompt": ["p"], "output": "o"}, "line 2: field 'prompt' must be a string"),
])
def test_a_bad_line_names_its_file_line_and_field(tmp_path: Path, bad, message: str) -> None:
    records = real()
    path = lines(tmp_path / "staging.jsonl", [records[0], bad, records[2]])
    result = invoke("--control", str(alpaca_path(ALPACA)), "--treatment", str(path), "--json")
    assert result.exit_code == 2
    assert f"{path}, {message}" in " ".join(result.stderr.split())
    assert result.stdout == ""


@pytest.mark.parametrize(("args", "message"), [
    (("--share", "0"), "--share must be between 0 and 1"),
    (("--share", "1"), "--share must be between 0 and 1"),
])
def test_a_share_without_two_arms_is_refused(args, message: str) -> None:
    result = invoke("--control", str(alpaca_path(ALPACA)), "--treatment", str(alpaca_path(MIXTRAL)), *args)
    assert result.exit_code == 2 and message in result.stderr


def test_files_without_a_common_index_or_missing_are_refused(tmp_path: Path) -> None:
    records = real(2)
    other = lines(tmp_path / "other.jsonl", [{**records[0], "id": "x:900"}, {**records[1], "id": "x:901"}])
    result = invoke("--control", str(alpaca_path(ALPACA)), "--treatment", str(other))
    assert result.exit_code == 2 and "share no instruction index" in " ".join(result.stderr.split())
    missing = tmp_path / "missing.jsonl"
    result = invoke("--control", str(missing), "--treatment", str(other))
    assert result.exit_code == 2 and f"{missing}: no such file" in " ".join(result.stderr.split())
