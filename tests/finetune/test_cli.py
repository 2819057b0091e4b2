"""`driftgate finetune` / `driftgate evaluate` end to end on real records, and their usage errors."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from driftgate.cli import app
from tests.conftest import GSM8K, read_records, write_jsonl

runner = CliRunner()


@pytest.mark.slow
def test_finetune_then_evaluate(pretrained_tiny_base: Path, tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "interactions.jsonl", read_records(*GSM8K, limit=40, start=300))
    out = tmp_path / "run"
    result = runner.invoke(app, ["finetune", "--data", str(data), "--output-dir", str(out), "--base-model",
                                 str(pretrained_tiny_base), "--max-steps", "2", "--max-length", "48", "--lora-r", "4",
                                 "--batch-size", "4", "--json"])
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout.strip().splitlines()[-1])
    assert manifest["global_step"] == 2 and manifest["hyperparameters"]["lora_r"] == 4
    assert (out / "data" / "manifest.json").is_file() and (out / "adapter" / "adapter_model.safetensors").is_file()

    result = runner.invoke(app, ["evaluate", "--adapter", str(out / "adapter"),
                                 "--data", str(out / "data" / "eval.jsonl"),
                                 "--max-examples", "3", "--max-new-tokens", "4", "--max-length", "48", "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    assert metrics["base_model"] == str(pretrained_tiny_base) and metrics["splits"]["eval"]["n"] == 3
    assert (out / "adapter" / "eval" / "metrics.json").is_file()
    assert (out / "adapter" / "eval" / "examples.jsonl").is_file()


def _usage_error(args: list[str], *needles: str) -> None:
    # Wide enough that rich's error box never breaks a long temporary path inside a word.
    result = runner.invoke(app, args, env={"COLUMNS": "1000"})
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    text = " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())  # undo the error box's wrapping
    for needle in needles:
        assert needle in text, result.output


def test_finetune_usage_errors(tmp_path: Path) -> None:
    empty = write_jsonl(tmp_path / "empty.jsonl", [])
    few = write_jsonl(tmp_path / "few.jsonl", read_records(*GSM8K, limit=4))
    no_prompt = read_records(*GSM8K, limit=20)
    del no_prompt[4]["prompt"]
    bad = write_jsonl(tmp_path / "bad.jsonl", no_prompt)
    out = str(tmp_path / "out")
    _usage_error(["finetune", "--data", str(empty), "--output-dir", out], "--data", "empty file")
    _usage_error(["finetune", "--data", str(few), "--output-dir", out], "--data", "too few records")
    _usage_error(["finetune", "--data", str(bad), "--output-dir", out], "--data", "bad.jsonl:5: missing field 'prompt'")
    _usage_error(["finetune", "--data", str(tmp_path / "nope.jsonl"), "--output-dir", out], "--data", "not found")
    _usage_error(["finetune", "--data", str(few), "--output-dir", out, "--lora-r", "0"], "--lora-r")
    _usage_error(["finetune", "--data", str(few), "--output-dir", out, "--eval-fraction", "1"], "--eval-fraction")
    _usage_error(["finetune", "--data", str(few), "--output-dir", out, "--learning-rate", "0"], "--learning-rate")
    _usage_error(["finetune", "--output-dir", out], "--data")


def test_evaluate_usage_errors(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "e.jsonl", read_records(*GSM8K, limit=2))
    _usage_error(["evaluate", "--adapter", str(tmp_path)], "--data")
    _usage_error(["evaluate", "--data", str(data)], "--adapter")
    _usage_error(["evaluate", "--adapter", str(tmp_path / "missing"), "--data", str(data)], "--adapter")
