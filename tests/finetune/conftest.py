"""Fixtures for the fine-tuning tests: one tiny pretrained base (``pretrained_tiny_base``, cached
under tiny_base_cache(), built once per session at most), a GSM8K training set from ../shared/data,
and one trained adapter shared by the training and evaluation tests."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from driftgate.paths import data_dir, tiny_base_cache
from tests.conftest import GSM8K, read_records, write_jsonl

# Small but real: a 2-layer, hidden-64 model, 64-token examples, one epoch over ~200 GSM8K rows.
TINY_BASE = {"steps": 80, "seed": 0, "max_length": 64}
TRAIN_FLAGS = [
    "--max_length", "64", "--learning_rate", "5e-3", "--num_train_epochs", "1",
    "--per_device_train_batch_size", "8", "--lora_r", "8", "--lora_alpha", "16",
    "--logging_steps", "5", "--save_steps", "1000", "--seed", "0", "--disable_tqdm", "true",
    "--warmup_steps", "2", "--loss_sample_size", "48",
]


# One torch thread: this 2-core machine is shared, and there a 2-thread step waits on a busy
# core (measured 2-3x slower than 1 thread under load). DRIFTGATE_TEST_TORCH_THREADS overrides.
TORCH_THREADS = int(os.environ.get("DRIFTGATE_TEST_TORCH_THREADS", "1"))


@pytest.fixture(scope="session")
def torch_threads() -> Iterator[int]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(TORCH_THREADS)
    yield before


@pytest.fixture(scope="package", autouse=True)
def _restore_torch_threads(torch_threads: int) -> Iterator[None]:
    """Other test packages run in the same process: give them back their thread count."""
    yield
    import torch

    torch.set_num_threads(torch_threads)


@pytest.fixture(scope="session")
def pretrained_tiny_base(torch_threads: int) -> Path:
    """The tiny "production" model, pretrained on the healthy model's (gpt4_1106_preview) outputs:
    quicker to build than the pipeline tests' ``tiny_base`` (tests/conftest.py), and a different model."""
    from finetune.base_model import baseline_records, build_tiny_base

    return build_tiny_base(tiny_base_cache(), baseline_records(data_dir(), 400), **TINY_BASE)


@pytest.fixture(scope="session")
def gsm8k_split(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A training set built by functions.dataset from 240 GSM8K rows: a new domain for the base."""
    from functions.dataset import build_training_set

    root = tmp_path_factory.mktemp("gsm8k")
    raw = write_jsonl(root / "raw.jsonl", read_records(*GSM8K, limit=240))
    build_training_set([raw], root / "data")
    return root / "data"


@pytest.fixture(scope="session")
def trained_adapter(pretrained_tiny_base: Path, gsm8k_split: Path, tmp_path_factory: pytest.TempPathFactory):
    """(TrainResult, weights at the start of training): one LoRA run shared by several tests."""
    import torch
    from transformers import TrainerCallback

    from finetune import train

    snapshot: dict[str, torch.Tensor] = {}

    class Snapshot(TrainerCallback):
        def on_train_begin(self, args, state, control, model=None, **kwargs):
            snapshot.update({name: p.detach().clone() for name, p in model.named_parameters()})

    output = tmp_path_factory.mktemp("adapter")
    argv = ["--model_name_or_path", str(pretrained_tiny_base), "--train", str(gsm8k_split / "train.jsonl"),
            "--eval", str(gsm8k_split / "eval.jsonl"), "--output-dir", str(output), *TRAIN_FLAGS]
    result = train.main(*train.parse_args(argv, environ={}), callbacks=[Snapshot()], environ={})
    return result, snapshot
