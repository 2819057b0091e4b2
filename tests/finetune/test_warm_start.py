"""Warm start (continual learning): a run given ``--init_adapter`` starts from that adapter's
LoRA weights, not from a fresh LoRA (B = 0), trains them further, and says so in its manifest;
one asked to warm start without an adapter trains from scratch and says why."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.finetune.conftest import TRAIN_FLAGS

pytestmark = pytest.mark.slow
SHORT = ["--max_steps", "2", "--max_train_samples", "16", "--loss_sample_size", "8"]


def _train(base: Path, data: Path, output: Path, *extra: str):
    import torch
    from transformers import TrainerCallback

    from finetune import train

    start: dict[str, torch.Tensor] = {}

    class Snapshot(TrainerCallback):
        def on_train_begin(self, args, state, control, model=None, **kwargs):
            start.update({name: p.detach().clone() for name, p in model.named_parameters() if "lora_" in name})

    argv = ["--model_name_or_path", str(base), "--train", str(data / "train.jsonl"), "--output-dir", str(output),
            *TRAIN_FLAGS, *SHORT, *extra]
    return train.main(*train.parse_args(argv, environ={}), callbacks=[Snapshot()], environ={}), start


def _saved_name(parameter: str) -> str:
    # PeftModel names a parameter "...lora_A.default.weight"; the saved file drops the adapter name.
    return parameter.replace(".default", "")


def test_warm_start_begins_from_the_production_adapter(trained_adapter, pretrained_tiny_base: Path,
                                                       gsm8k_split: Path, tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file

    production, _ = trained_adapter
    saved = load_file(production.output_dir / "adapter_model.safetensors")
    warm, warm_start = _train(pretrained_tiny_base, gsm8k_split, tmp_path / "warm",
                              "--warm_start", "true", "--init_adapter", str(production.output_dir))

    assert warm_start and set(map(_saved_name, warm_start)) == set(saved)
    for name, value in warm_start.items():
        assert torch.equal(value, saved[_saved_name(name)]), f"{name} did not start from the production adapter"
    # A fresh LoRA starts with B = 0; the production adapter's B is trained, so the starts differ.
    b_start = [v for n, v in warm_start.items() if "lora_B" in n]
    assert b_start and all(v.abs().sum() > 0 for v in b_start)
    # ...and training moves on from there: the two steps changed the weights they started from.
    trained = {n: p.detach() for n, p in warm.model.named_parameters() if "lora_" in n}
    assert any(not torch.equal(trained[n], warm_start[n]) for n in trained)
    assert all(p.requires_grad for n, p in warm.model.named_parameters() if "lora_" in n)
    init = warm.manifest["init"]
    assert init["from"] == "adapter" and init["sha256"] == production.manifest["weights"]["sha256"]
    # The adapter's own LoRA config came with its weights.
    assert warm.manifest["hyperparameters"]["lora_r"] == production.manifest["hyperparameters"]["lora_r"]


def test_warm_start_without_an_adapter_trains_from_scratch_and_says_so(pretrained_tiny_base: Path,
                                                                       gsm8k_split: Path, tmp_path: Path) -> None:
    scratch, start = _train(pretrained_tiny_base, gsm8k_split, tmp_path / "scratch", "--warm_start", "true")

    assert all(v.abs().sum() == 0 for n, v in start.items() if "lora_B" in n)  # a fresh LoRA
    assert scratch.manifest["init"] == {"from": "scratch", "reason": "no production adapter given"}
