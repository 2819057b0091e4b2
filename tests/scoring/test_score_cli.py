"""``driftgate score``: every real data file, the JSON lines, the summary, and bad input."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from driftgate.cli import app
from driftgate.paths import data_dir
from functions.scoring import score
from functions.scoring.pack import FLAGS
from tests.scoring.realdata import GPT4, MIXTRAL, alpaca, gsm8k

REAL_FILES = sorted(data_dir().glob("*/*.jsonl"))
RESULT_KEYS = {"line", "id", "quality", "exact_match", "token_f1", "rouge_l", "flags", "scores", "answer",
               "reference_answer", "skipped"}


def invoke(*args: str, env: dict[str, str] | None = None):
    return CliRunner(env=env).invoke(app, ["score", *args])


def write(path: Path, records: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8")
    return path


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def table_value(stdout: str, row: str) -> str:
    """The value cell of a summary row ("│ records │ 805 │")."""
    match = re.search(rf"│\s+{re.escape(row)}\s*│\s*(\S+)\s*│", stdout)
    assert match, (row, stdout)
    return match.group(1)


def test_the_real_data_is_all_there() -> None:
    names = {p.name for p in REAL_FILES}
    assert len(REAL_FILES) == 6 and "test.jsonl" in names and f"{GPT4}.jsonl" in names


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.name)
def test_scores_every_real_file(path: Path, tmp_path: Path) -> None:
    out = tmp_path / "scores.jsonl"
    result = invoke(str(path), "--output", str(out))
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    results = json_lines(out.read_text(encoding="utf-8"))
    assert [r["id"] for r in results] == [r["id"] for r in records]
    assert all(set(r) == RESULT_KEYS for r in results)
    assert table_value(result.stdout, "records") == str(len(records))
    if path.name == "test.jsonl":  # GSM8K: questions and worked references, no outputs
        assert all(r["skipped"] == "no output" and r["quality"] is None for r in results)
        answers = [rec["reference"].rsplit("####", 1)[1].strip().replace(",", "") for rec in records]
        assert [r["reference_answer"] for r in results] == answers
        assert table_value(result.stdout, "scored") == "0"
    else:
        assert all(r["skipped"] is None and 0 <= r["quality"] <= 1 and r["exact_match"] in (0, 1) for r in results)
        assert table_value(result.stdout, "scored") == str(len(records))


@pytest.fixture(scope="module")
def mixed_records() -> list[dict]:
    """Real records of every kind: GSM8K worked references as outputs (their own question's, so a
    match, and the next question's, a miss), a GSM8K question without output, AlpacaEval answers
    with and without their reference."""
    q = gsm8k()
    own = [{**q[i], "output": q[i]["reference"]} for i in (0, 1)]
    other = [{**q[i], "output": q[i + 1]["reference"]} for i in (2, 3)]
    free_form = alpaca(MIXTRAL)[:2]
    no_reference = [{k: v for k, v in r.items() if k != "reference"} for r in alpaca(MIXTRAL)[2:4]]
    return [*own, *other, q[4], *free_form, *no_reference]


def test_json_line_per_record_is_the_pack_report(tmp_path, mixed_records) -> None:
    path = write(tmp_path / "mixed.jsonl", mixed_records)
    result = invoke(str(path), "--json")
    assert result.exit_code == 0, result.output
    results = json_lines(result.stdout)
    assert len(results) == len(mixed_records)
    for number, (record, row) in enumerate(zip(mixed_records, results, strict=True), start=1):
        assert set(row) == RESULT_KEYS and row["line"] == number and row["id"] == record["id"]
        if record["output"] is None:
            assert row["skipped"] == "no output" and row["scores"] == [] and row["quality"] is None
            continue
        report = score(record["prompt"], record["output"], record.get("reference")).to_dict()
        assert {k: row[k] for k in report} == report  # the pack's numbers, untouched
        assert all(set(s) == {"name", "value", "source"} for s in row["scores"])
        if "reference" not in record:
            assert row["exact_match"] is row["token_f1"] is row["rouge_l"] is row["reference_answer"] is None
            assert {s["source"] for s in row["scores"]} == {"heuristic"}
    assert [r["exact_match"] for r in results[:4]] == [1, 1, 0, 0]
    assert results[0]["answer"] == results[0]["reference_answer"] == "18"
    assert results[5]["reference_answer"] is None  # an essay-like reference states no answer


def test_summary_table(tmp_path, mixed_records) -> None:
    path = write(tmp_path / "mixed.jsonl", mixed_records)
    result = invoke(str(path))
    assert result.exit_code == 0, result.output
    scored = json_lines(invoke(str(path), "--json").stdout)
    scored = [r for r in scored if r["skipped"] is None]
    expected = {
        "records": "9", "with a reference": "7", "reference states an answer": "5",
        "without output (not scored)": "1", "scored": "8", "scored with a reference": "6",
        "mean quality": f"{sum(r['quality'] for r in scored) / 8:.3f}",
        "exact-match rate": f"{2 / 6:.1%}",
    }
    for row, value in expected.items():
        assert table_value(result.stdout, row) == value, row
    for flag in FLAGS:
        count = sum(flag in r["flags"] for r in scored)
        assert re.search(rf"│ {flag}\s*│\s*{count} │\s*{count / 8:.1%} │", result.stdout), flag


def test_reference_field_picks_another_field(tmp_path) -> None:
    records = alpaca(MIXTRAL)[:5]
    renamed = [{**{k: v for k, v in r.items() if k != "reference"}, "gpt4_answer": r["reference"]} for r in records]
    default = invoke(str(write(tmp_path / "a.jsonl", records)), "--json")
    picked = invoke(str(write(tmp_path / "b.jsonl", renamed)), "--json", "--reference-field", "gpt4_answer")
    assert default.exit_code == picked.exit_code == 0
    assert picked.stdout == default.stdout and json_lines(picked.stdout)[0]["rouge_l"] is not None
    # Named explicitly, the field must be on every line (a typo should not score without references).
    result = invoke(str(tmp_path / "a.jsonl"), "--reference-field", "gpt4_answer")
    assert result.exit_code == 2 and "line 1: missing field 'gpt4_answer'" in result.stderr


GOOD = alpaca(GPT4)[0]
BAD_LINES = [
    ("{not json", "not valid JSON"),
    ('["a", "list"]', "not a JSON object but an array"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "prompt"}), "missing field 'prompt'"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "output"}), "missing field 'output'"),
    (json.dumps({**GOOD, "output": 42}), "field 'output' must be a string or null, not a number"),
    (json.dumps({**GOOD, "id": None}), "field 'id' must be a string or an integer, not null"),
    (json.dumps({**GOOD, "reference": ["a"]}), "field 'reference' must be a string or null, not an array"),
    (json.dumps({**GOOD, "prompt": True}), "field 'prompt' must be a string, not a boolean"),
    (b'{"id": "x", "prompt": "\xff", "output": "y"}', "not valid UTF-8"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_LINES, ids=[m for _, m in BAD_LINES])
def test_a_bad_line_names_line_and_field_and_writes_nothing(tmp_path, bad, message) -> None:
    path = tmp_path / "in.jsonl"
    good = [json.dumps(r).encode() for r in alpaca(GPT4)[:3]]
    path.write_bytes(b"\n".join([good[0], good[1], bad if isinstance(bad, bytes) else bad.encode(), good[2]]) + b"\n")
    out = tmp_path / "out.jsonl"
    out.write_text("previous results\n")
    result = invoke(str(path), "--json", "--output", str(out))
    assert result.exit_code == 2
    assert f"{path}, line 3: {message}" in result.stderr
    assert result.stdout == "" and out.read_text() == "previous results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]  # no temporary left


def test_every_bad_line_is_reported_up_to_ten(tmp_path) -> None:
    path = write(tmp_path / "in.jsonl", [GOOD, *["[]"] * 12])
    result = invoke(str(path))
    assert result.exit_code == 2
    errors = result.stderr.strip().splitlines()
    assert errors[0] == f"error: {path}, line 2: not a JSON object but an array"
    assert len(errors) == 11 and errors[-1] == f"error: {path}: 2 more bad lines"


def test_missing_empty_and_self_overwriting_files(tmp_path) -> None:
    assert "no such file" in invoke(str(tmp_path / "nope.jsonl")).stderr
    empty = write(tmp_path / "empty.jsonl", ["", "  "])
    result = invoke(str(empty))
    assert result.exit_code == 2 and "no interactions" in result.stderr
    good = write(tmp_path / "good.jsonl", [GOOD])
    result = invoke(str(good), "--output", str(good))
    assert result.exit_code == 2 and "is the input file" in result.stderr
    result = invoke(str(good), "--output", str(tmp_path / "no" / "such" / "out.jsonl"))
    assert result.exit_code == 2 and "no such folder" in result.stderr


def test_output_file_holds_the_json_lines(tmp_path, mixed_records) -> None:
    path = write(tmp_path / "mixed.jsonl", mixed_records)
    out = tmp_path / "scores.jsonl"
    result = invoke(str(path), "--json", "--output", str(out))
    assert result.exit_code == 0 and out.read_text(encoding="utf-8") == result.stdout


def test_progress_bar_on_stderr_only_on_a_terminal(tmp_path, mixed_records) -> None:
    path = write(tmp_path / "mixed.jsonl", mixed_records)
    on_terminal = invoke(str(path), "--json", env={"TTY_COMPATIBLE": "1"})  # rich: treat stderr as a terminal
    assert on_terminal.exit_code == 0
    assert "Scoring" in on_terminal.stderr and f"{len(mixed_records)}/{len(mixed_records)}" in on_terminal.stderr
    assert len(json_lines(on_terminal.stdout)) == len(mixed_records)  # stdout stays the results
    piped = invoke(str(path), "--json", env={"TTY_COMPATIBLE": "0"})
    assert piped.stderr == "" and piped.stdout == on_terminal.stdout
