"""finetune/train.py as SageMaker runs it: `python finetune/train.py` in a container whose
/opt/ml layout (here a tmp dir named by SM_BASE_DIR) holds the channels and hyperparameters."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from driftgate.paths import REPO_ROOT
from finetune.sagemaker import SageMakerEnv, hyperparameters_to_argv
from tests.conftest import GSM8K, read_records, write_jsonl
from tests.finetune.conftest import TORCH_THREADS


def sagemaker_layout(root: Path, hyperparameters: dict[str, str]) -> dict[str, str]:
    """The directories and environment a SageMaker training container sees, under ``root``."""
    channels = root / "input" / "data"
    write_jsonl(channels / "train" / "train.jsonl", read_records(*GSM8K, limit=24))
    write_jsonl(channels / "eval" / "eval.jsonl", read_records(*GSM8K, limit=8, start=500))
    (root / "input" / "config").mkdir(parents=True)
    (root / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    (root / "checkpoints").mkdir()  # present only when the job has a checkpoint config
    (root / "model").mkdir()
    (root / "output" / "data").mkdir(parents=True)
    return {
        "SM_BASE_DIR": str(root),
        "SM_CHANNEL_TRAIN": str(channels / "train"),
        "SM_CHANNEL_EVAL": str(channels / "eval"),
        "SM_MODEL_DIR": str(root / "model"),
        "SM_OUTPUT_DATA_DIR": str(root / "output" / "data"),
    }


@pytest.mark.slow
def test_train_script_runs_as_a_sagemaker_job(pretrained_tiny_base: Path, tmp_path: Path) -> None:
    # Every value a string, the way SageMaker writes them; framework estimators JSON-encode
    # strings (the model id), and their own sagemaker_* entries are mixed in.
    hyperparameters = {
        "model_name_or_path": json.dumps(str(pretrained_tiny_base)),
        "max_steps": "3",
        "save_steps": "2",
        "learning_rate": "0.001",
        "lora_r": "4",
        "lora_alpha": "8",
        "lora_target_modules": "q_proj,v_proj",
        "max_length": "48",
        "per_device_train_batch_size": "4",
        "use_peft": "true",
        "sagemaker_program": json.dumps("finetune/train.py"),
        "sagemaker_region": json.dumps("us-east-1"),
    }
    env = {**os.environ, **sagemaker_layout(tmp_path / "opt_ml", hyperparameters), "HF_HUB_OFFLINE": "1",
           "OMP_NUM_THREADS": str(TORCH_THREADS)}
    env.pop("PYTHONPATH", None)  # the script must find its package by itself, as in the container
    work = tmp_path / "code"
    work.mkdir()
    proc = subprocess.run([sys.executable, str(REPO_ROOT / "finetune" / "train.py")], cwd=work, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    model_dir = tmp_path / "opt_ml" / "model"  # uploaded by SageMaker as model.tar.gz
    for name in ("adapter_config.json", "adapter_model.safetensors", "manifest.json", "tokenizer.json"):
        assert (model_dir / name).is_file(), name
    assert not (model_dir / "checkpoints").exists()  # checkpoints are not part of the model
    assert (tmp_path / "opt_ml" / "checkpoints" / "checkpoint-2").is_dir()
    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert manifest["base_model"] == str(pretrained_tiny_base)
    assert manifest["global_step"] == 3
    hp = manifest["hyperparameters"]
    assert (hp["lora_r"], hp["lora_alpha"], hp["learning_rate"], hp["max_length"]) == (4, 8, 0.001, 48)
    assert hp["lora_target_modules"] == ["q_proj", "v_proj"]
    assert manifest["dataset"]["eval"]["examples"] == 8
    assert "step 3/3" in proc.stdout  # progress is logged


def test_hyperparameters_decode_sagemaker_strings() -> None:
    argv = hyperparameters_to_argv({
        "lora_r": "16", "model_name_or_path": '"Qwen/Qwen2.5-0.5B"', "use_peft": "false",
        "lora_target_modules": '["q_proj", "v_proj"]', "bf16": True, "sagemaker_program": '"train.py"',
    })
    assert argv == ["--lora_r", "16", "--model_name_or_path", "Qwen/Qwen2.5-0.5B", "--use_peft", "false",
                    "--lora_target_modules", "q_proj", "v_proj", "--bf16", "true"]


def test_sagemaker_environment_fills_the_defaults(tmp_path: Path) -> None:
    from finetune import train

    env = sagemaker_layout(tmp_path, {"lora_r": "4", "max_steps": "7"})
    assert SageMakerEnv.detect({"SM_BASE_DIR": str(tmp_path / "elsewhere")}) is None  # a plain local run
    script, model, training = train.parse_args(["--lora_r", "6"], environ=env)
    assert script.train_file == env["SM_CHANNEL_TRAIN"] and script.eval_file == env["SM_CHANNEL_EVAL"]
    assert training.output_dir == env["SM_MODEL_DIR"]
    assert script.checkpoint_dir == str(tmp_path / "checkpoints")
    assert training.max_steps == 7 and model.lora_r == 6  # hyperparameters, then the command line
    assert training.disable_tqdm is True
