"""Scoring a base model with and without the adapter on an eval set and a golden set."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from finetune.errors import FinetuneInputError
from tests.conftest import GSM8K, read_records, write_jsonl

pytestmark = pytest.mark.slow
ROW_FIELDS = {"id", "split", "loss", "n_tokens", "output", "quality", "exact_match", "flags"}


def _evaluate(argv: list[str]) -> dict:
    from finetune import evaluate

    return evaluate.main(evaluate.parse_args(argv, environ={}))


def _rows(directory: Path) -> list[dict]:
    return [json.loads(line) for line in (directory / "examples.jsonl").read_text().splitlines()]


def test_adapter_and_base_are_scored_per_example(trained_adapter, pretrained_tiny_base: Path, gsm8k_split: Path,
                                                 tmp_path: Path) -> None:
    result, _ = trained_adapter
    golden = write_jsonl(tmp_path / "golden.jsonl", read_records(*GSM8K, limit=6, start=1200))
    common = ["--eval", str(gsm8k_split / "eval.jsonl"), "--golden", str(golden), "--max_examples", "8",
              "--max_new_tokens", "6", "--max_length", "64"]
    # The adapter's manifest names the base, so --model_name_or_path is not needed with it.
    tuned = _evaluate(["--adapter", str(result.output_dir), "--output_dir", str(tmp_path / "tuned"), *common])
    base = _evaluate(["--model_name_or_path", str(pretrained_tiny_base), "--output_dir", str(tmp_path / "base"),
                      *common])

    for directory, metrics in ((tmp_path / "tuned", tuned), (tmp_path / "base", base)):
        assert json.loads((directory / "metrics.json").read_text()) == metrics
        rows = _rows(directory)
        assert [r["split"] for r in rows] == ["eval"] * 8 + ["golden"] * 6
        assert all(set(r) == ROW_FIELDS for r in rows)
        assert all(r["n_tokens"] > 0 and r["loss"] > 0 and isinstance(r["output"], str) for r in rows)
        assert all(0.0 <= r["quality"] <= 1.0 and r["exact_match"] in (0, 1) for r in rows)  # GSM8K has references
        for split in ("eval", "golden"):
            summary = metrics["splits"][split]
            assert summary["perplexity"] > 1 and summary["exact_match_n"] == summary["n"]
    assert tuned["base_model"] == base["base_model"] == str(pretrained_tiny_base)
    assert tuned["adapter_sha256"] == result.manifest["weights"]["sha256"] and base["adapter_sha256"] is None

    # Paired by id: the adapter changed every example's loss, and on the new domain it lowered it.
    tuned_loss = {(r["split"], r["id"]): r["loss"] for r in _rows(tmp_path / "tuned")}
    base_loss = {(r["split"], r["id"]): r["loss"] for r in _rows(tmp_path / "base")}
    assert tuned_loss.keys() == base_loss.keys()
    assert all(tuned_loss[k] != base_loss[k] for k in tuned_loss)
    assert tuned["splits"]["eval"]["loss"] < base["splits"]["eval"]["loss"]


def test_bad_evaluation_inputs(tmp_path: Path, pretrained_tiny_base: Path) -> None:
    with pytest.raises(FinetuneInputError, match="give --eval and/or --golden"):
        _evaluate(["--model_name_or_path", str(pretrained_tiny_base), "--output_dir", str(tmp_path)])
    with pytest.raises(FinetuneInputError, match="--eval .*: not found"):
        _evaluate(["--eval", str(tmp_path / "nope.jsonl"), "--output_dir", str(tmp_path)])
    eval_file = write_jsonl(tmp_path / "e.jsonl", read_records(*GSM8K, limit=2))
    with pytest.raises(FinetuneInputError, match="--model_name_or_path is required"):
        _evaluate(["--eval", str(eval_file), "--output_dir", str(tmp_path / "out")])
    with pytest.raises(FinetuneInputError, match="no adapter_config.json"):
        _evaluate(["--eval", str(eval_file), "--adapter", str(tmp_path),
                   "--model_name_or_path", str(pretrained_tiny_base), "--output_dir", str(tmp_path / "out")])


def test_runs_from_sagemaker_channels_with_a_packed_adapter(trained_adapter, gsm8k_split: Path, tmp_path: Path) -> None:
    """The evaluation job's layout: the training job's model.tar.gz arrives in the 'adapter'
    channel; eval/golden channels are directories; results go to SM_MODEL_DIR."""
    import tarfile

    from finetune import evaluate

    result, _ = trained_adapter
    channels = tmp_path / "input" / "data"
    (channels / "adapter").mkdir(parents=True)
    with tarfile.open(channels / "adapter" / "model.tar.gz", "w:gz") as archive:
        for file in result.output_dir.iterdir():
            if file.is_file():
                archive.add(file, arcname=file.name)
    write_jsonl(channels / "eval" / "eval.jsonl", read_records(*GSM8K, limit=3, start=700))
    write_jsonl(channels / "golden" / "golden.jsonl", read_records(*GSM8K, limit=2, start=900))
    (tmp_path / "input" / "config").mkdir(parents=True)
    (tmp_path / "input" / "config" / "hyperparameters.json").write_text(
        json.dumps({"max_new_tokens": "4", "max_length": "64"}))
    env = {"SM_BASE_DIR": str(tmp_path), "SM_MODEL_DIR": str(tmp_path / "model"),
           **{f"SM_CHANNEL_{name.upper()}": str(channels / name) for name in ("adapter", "eval", "golden")}}

    metrics = evaluate.main(evaluate.parse_args([], environ=env))
    assert metrics["adapter_sha256"] == result.manifest["weights"]["sha256"]
    assert metrics["base_model"] == result.manifest["base_model"]  # read from the packed manifest
    assert {s: v["n"] for s, v in metrics["splits"].items()} == {"eval": 3, "golden": 2}
    assert metrics["generation"]["max_new_tokens"] == 4
    assert len(_rows(tmp_path / "model")) == 5
