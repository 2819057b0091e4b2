"""The tiny "production" base: real MiniLM tokenizer, pretrained briefly, cached, no downloads."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from driftgate.paths import data_dir, tiny_base_cache
from tests.finetune.conftest import TINY_BASE

pytestmark = pytest.mark.slow


def test_tiny_base_loads_with_auto_classes(pretrained_tiny_base: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(pretrained_tiny_base)
    # The real WordPiece vocabulary, not a character fallback: whole words are single tokens.
    assert tokenizer.tokenize("Hello world, the answer is 42") == ["hello", "world", ",", "the", "answer", "is", "42"]
    assert (tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token) == ("[CLS]", "[SEP]", "[PAD]")
    model = AutoModelForCausalLM.from_pretrained(pretrained_tiny_base)
    assert model.config.num_hidden_layers == 2 and model.config.hidden_size == 64
    assert model.config.vocab_size == len(tokenizer) == 30522

    manifest = json.loads((pretrained_tiny_base / "base_manifest.json").read_text())
    assert manifest["steps"] == TINY_BASE["steps"] and manifest["pretrain_records"] == 400
    assert manifest["loss_last"] < manifest["loss_first"] - 3  # it learned something: 10.3 -> ~6


def test_tiny_base_is_cached(pretrained_tiny_base: Path) -> None:
    from finetune.base_model import baseline_records, build_tiny_base

    stamp = (pretrained_tiny_base / "model.safetensors").stat().st_mtime_ns
    started = time.perf_counter()
    again = build_tiny_base(tiny_base_cache(), baseline_records(data_dir(), 400), **TINY_BASE)
    assert again == pretrained_tiny_base and (pretrained_tiny_base / "model.safetensors").stat().st_mtime_ns == stamp
    assert time.perf_counter() - started < 5
