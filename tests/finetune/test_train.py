"""LoRA SFT on a tiny model from real records: what changed, what did not, and the saved adapter."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from finetune.errors import FinetuneInputError
from tests.conftest import GSM8K, read_records, write_jsonl
from tests.finetune.conftest import TRAIN_FLAGS

pytestmark = pytest.mark.slow


def test_train_peft_model(trained_adapter, pretrained_tiny_base: Path) -> None:
    import torch
    from safetensors.torch import load_file

    result, start = trained_adapter
    model = result.model
    lora = {name: p for name, p in model.named_parameters() if "lora_" in name}
    assert lora and all(p.requires_grad for p in lora.values())
    # LoRA B starts at zero: any training moves it; A moves from its random start.
    for name, param in lora.items():
        assert not torch.equal(param.detach(), start[name]), f"{name} did not change"
    # The base weights are frozen: equal to their start and to the checkpoint on disk.
    on_disk = load_file(pretrained_tiny_base / "model.safetensors")
    base_state = model.get_base_model().state_dict()
    compared = 0
    for name, value in base_state.items():
        if "lora_" in name:
            continue
        plain = name.replace(".base_layer", "")
        if plain in on_disk:
            assert torch.equal(value, on_disk[plain]), f"base weight {plain} changed"
            compared += 1
    assert compared >= 20
    for name, param in model.named_parameters():
        if "lora_" not in name:
            assert not param.requires_grad and torch.equal(param.detach(), start[name])

    loss = result.manifest["loss"]
    assert loss["eval_after"] < loss["eval_before"], loss
    assert loss["train_after"] < loss["train_before"], loss


def test_saved_adapter_reloads_to_identical_outputs(trained_adapter, pretrained_tiny_base: Path,
                                                    gsm8k_split: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from finetune.formatting import load_examples, pad_batch
    from finetune.modeling import tokenize_examples

    result, _ = trained_adapter
    out = result.output_dir
    for name in ("adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "manifest.json"):
        assert (out / name).is_file(), name
    tokenizer = AutoTokenizer.from_pretrained(out)
    features = tokenize_examples(tokenizer, load_examples(gsm8k_split / "eval.jsonl", limit=6), 64)
    batch = pad_batch(features, tokenizer.pad_token_id)
    batch.pop("labels")
    reloaded = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(pretrained_tiny_base), out).eval()
    trained = result.model.eval()
    with torch.no_grad():
        expected = trained(**batch).logits
        actual = reloaded(**batch).logits
    assert torch.allclose(actual, expected, atol=1e-5)
    with torch.no_grad(), reloaded.disable_adapter():
        assert not torch.allclose(reloaded(**batch).logits, expected, atol=1e-4)


def test_manifest_records_provenance(trained_adapter, pretrained_tiny_base: Path, gsm8k_split: Path) -> None:
    from finetune.hashing import sha256_file

    result, _ = trained_adapter
    manifest = json.loads((result.output_dir / "manifest.json").read_text())
    data_manifest = json.loads((gsm8k_split / "manifest.json").read_text())
    assert manifest["base_model"] == str(pretrained_tiny_base)
    assert manifest["kind"] == "lora"
    assert manifest["dataset"]["train"]["sha256"] == data_manifest["train"]["sha256"]
    assert manifest["dataset"]["eval"]["sha256"] == data_manifest["eval"]["sha256"]
    assert manifest["weights"] == {"files": ["adapter_model.safetensors"],
                                   "sha256": sha256_file(result.output_dir / "adapter_model.safetensors")}
    assert manifest["hyperparameters"]["lora_r"] == 8 and manifest["hyperparameters"]["learning_rate"] == 5e-3
    assert manifest["hyperparameters"]["lora_target_modules"] == sorted(
        ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    assert manifest["seed"] == 0
    assert {"torch", "transformers", "peft", "datasets"} <= set(manifest["versions"])
    assert all(isinstance(v, float) for k, v in manifest["loss"].items() if k != "train_sample_examples")


def test_resume_from_last_checkpoint(pretrained_tiny_base: Path, gsm8k_split: Path, tmp_path: Path) -> None:
    from finetune import train

    common = ["--model_name_or_path", str(pretrained_tiny_base), "--train", str(gsm8k_split / "train.jsonl"),
              "--output-dir", str(tmp_path / "out"), *TRAIN_FLAGS, "--save_steps", "2", "--max_train_samples", "48"]
    first = train.main(*train.parse_args([*common, "--max_steps", "2"], environ={}), environ={})
    assert (tmp_path / "out" / "checkpoints" / "checkpoint-2").is_dir()
    assert first.manifest["resumed_from"] is None
    second = train.main(*train.parse_args([*common, "--max_steps", "3", "--resume_from_checkpoint", "auto"],
                                          environ={}), environ={})
    assert second.manifest["resumed_from"] == "checkpoint-2"
    assert second.manifest["global_step"] == 3


def test_full_fine_tune_without_peft(pretrained_tiny_base: Path, gsm8k_split: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    from finetune import train

    argv = ["--model_name_or_path", str(pretrained_tiny_base), "--train", str(gsm8k_split / "train.jsonl"),
            "--output-dir", str(tmp_path / "full"), *TRAIN_FLAGS, "--use_peft", "false", "--max_steps", "1",
            "--warmup_steps", "0", "--max_train_samples", "8"]
    result = train.main(*train.parse_args(argv, environ={}), environ={})
    assert result.manifest["kind"] == "full" and result.manifest["weights"]["files"] == ["model.safetensors"]
    assert result.manifest["parameters"]["trainable"] == result.manifest["parameters"]["total"]
    assert not (tmp_path / "full" / "adapter_config.json").exists()
    before = load_file(pretrained_tiny_base / "model.safetensors")
    after = load_file(tmp_path / "full" / "model.safetensors")
    assert any(not (before[k] == after[k]).all() for k in before)


def test_build_lora_config_defaults_and_overrides() -> None:
    from finetune.train import ModelArguments, build_lora_config

    config = build_lora_config(ModelArguments(), "qwen2")
    assert (config.r, config.lora_alpha, config.lora_dropout) == (16, 32, 0.05)
    assert set(config.target_modules) == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    assert set(build_lora_config(ModelArguments(), "gpt2").target_modules) == {"c_attn", "c_proj", "c_fc"}
    assert build_lora_config(ModelArguments(), "some-new-arch").target_modules == "all-linear"
    custom = build_lora_config(ModelArguments(lora_r=4, lora_target_modules=["q_proj,v_proj"]), "llama")
    assert custom.r == 4 and set(custom.target_modules) == {"q_proj", "v_proj"}


def test_config_file_then_flags(tmp_path: Path) -> None:
    from finetune import train

    config = tmp_path / "train.yaml"
    config.write_text("learning_rate: 1.0e-3\nlora_r: 4\nnum_train_epochs: 2\n")
    script, model, training = train.parse_args(
        ["--config", str(config), "--lora_r", "12", "--train", "t.jsonl", "--output-dir", "o"], environ={})
    assert training.learning_rate == 1e-3 and training.num_train_epochs == 2
    assert model.lora_r == 12  # the command line wins over the file
    assert script.train_file == "t.jsonl"
    (tmp_path / "bad.json").write_text(json.dumps({"lora_rank": 4}))
    with pytest.raises(FinetuneInputError, match="unknown keys.*lora_rank"):
        train.parse_args(["--config", str(tmp_path / "bad.json")], environ={})


def _train(argv: list[str]):
    from finetune import train

    return train.main(*train.parse_args(argv, environ={}), environ={})


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    good = write_jsonl(tmp_path / "good.jsonl", read_records(*GSM8K, limit=8))
    records = read_records(*GSM8K, limit=4)
    del records[2]["prompt"]
    return {
        "good": good,
        "empty": write_jsonl(tmp_path / "empty.jsonl", []),
        "no_prompt": write_jsonl(tmp_path / "no_prompt.jsonl", records),
        "no_target": write_jsonl(tmp_path / "no_target.jsonl", [{"id": "x", "prompt": "2+2?", "output": None}]),
        "out": tmp_path / "out",
    }


@pytest.mark.parametrize(
    ("case", "extra", "message"),
    [
        ("empty", [], r"no records \(empty file\)"),
        ("no_prompt", [], r"no_prompt.jsonl:3: missing field 'prompt'"),
        ("no_target", [], r"missing field 'response'"),
        ("good", ["--use_peft", "false", "--lora_target_modules", "q_proj"],
         r"conflicting flags: --lora_target_modules"),
        ("good", ["--eval", "SAME"], r"conflicting flags: --train and --eval are the same file"),
        ("good", ["--eval_strategy", "steps"], r"--eval_strategy steps needs --eval"),
        ("good", ["--lora_r", "0"], r"--lora_r must be >= 1"),
        ("good", ["--max_length", "8"], r"--max_length must be >= 16"),
        ("good", ["--dtype", "float8"], r"--dtype 'float8': expected auto"),
        ("good", ["--lora_rank", "4"], r"unrecognized arguments: --lora_rank"),
        ("good", ["--resume_from_checkpoint", "/nope"], r"no such checkpoint directory"),
    ],
)
def test_bad_inputs_fail_fast(files: dict[str, Path], pretrained_tiny_base: Path, case: str, extra: list[str],
                              message: str) -> None:
    train_file = str(files[case])
    extra = [train_file if item == "SAME" else item for item in extra]
    argv = ["--model_name_or_path", str(pretrained_tiny_base), "--train", train_file,
            "--output-dir", str(files["out"]), *extra]
    with pytest.raises(FinetuneInputError, match=message):
        _train(argv)
    assert not files["out"].exists()


def test_missing_required_flags_name_them(files: dict[str, Path]) -> None:
    with pytest.raises(FinetuneInputError, match="--train is required"):
        _train(["--output-dir", "x", "--model_name_or_path", "m"])
    with pytest.raises(FinetuneInputError, match="--output-dir is required"):
        _train(["--train", str(files["good"]), "--model_name_or_path", "m"])
    with pytest.raises(FinetuneInputError, match="--model_name_or_path is required"):
        _train(["--train", str(files["good"]), "--output-dir", "x"])
    with pytest.raises(FinetuneInputError, match="file not found"):
        _train(["--train", "/no/such.jsonl", "--output-dir", "x", "--model_name_or_path", "m"])
