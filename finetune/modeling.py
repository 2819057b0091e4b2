"""Loading models and tokenizers, and the forward passes training and evaluation share
(per-example loss, greedy generation). torch/transformers are imported here, never by
``finetune/__init__``, so that light imports of the package stay light."""
from __future__ import annotations

import logging
import platform
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from finetune.errors import FinetuneInputError
from finetune.formatting import IGNORE_INDEX, Example, encode_example, encode_prompt, pad_batch, special_ids

logger = logging.getLogger(__name__)

# Attention and MLP projections per architecture: LoRA on all of them is the usual recipe
# (QLoRA paper); an unknown architecture falls back to peft's "all-linear".
TARGET_MODULES: dict[str, list[str]] = {
    name: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    for name in ("llama", "mistral", "mixtral", "qwen2", "qwen3", "gemma", "gemma2", "phi3", "olmo2")
}
TARGET_MODULES.update(
    {
        "gpt2": ["c_attn", "c_proj", "c_fc"],
        "gpt_neox": ["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"],
        "opt": ["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"],
        "phi": ["q_proj", "k_proj", "v_proj", "dense", "fc1", "fc2"],
    }
)

ProgressFn = Callable[[int, int], None]  # (done, total)


def default_target_modules(model_type: str | None) -> list[str] | str:
    return TARGET_MODULES.get(model_type or "", "all-linear")


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise FinetuneInputError(f"--device {name}: CUDA is not available on this machine", field="device")
    return torch.device(name)


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """``auto`` is bf16 on a GPU that supports it, float32 otherwise (CPU half precision is slow)."""
    if name == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    dtypes = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    if name not in dtypes:
        raise FinetuneInputError(f"--dtype {name!r}: expected auto, {', '.join(dtypes)}", field="dtype")
    return dtypes[name]


def load_tokenizer(name_or_path: str | Path, *, trust_remote_code: bool = False) -> Any:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(name_or_path), trust_remote_code=trust_remote_code)
    if tokenizer.pad_token_id is None:
        # Padding is masked out of attention and loss, so any known token will do.
        _, eos = special_ids(tokenizer)
        tokenizer.pad_token_id = eos
    return tokenizer


def load_causal_lm(
    name_or_path: str | Path,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
    trust_remote_code: bool = False,
) -> Any:
    from transformers import AutoModelForCausalLM

    try:
        model = AutoModelForCausalLM.from_pretrained(
            str(name_or_path), dtype=dtype, trust_remote_code=trust_remote_code
        )
    except OSError as exc:
        raise FinetuneInputError(f"cannot load base model {name_or_path!r}: {exc}",
                                 field="model_name_or_path") from None
    return model.to(device)


def is_adapter_dir(path: str | Path) -> bool:
    return (Path(path) / "adapter_config.json").is_file()


def has_tokenizer(path: str | Path) -> bool:
    return any((Path(path) / name).is_file() for name in ("tokenizer.json", "tokenizer_config.json"))


def load_for_inference(
    base: str | Path,
    adapter: str | Path | None = None,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
    trust_remote_code: bool = False,
) -> tuple[Any, Any]:
    """(model in eval mode, tokenizer): the base, with the adapter applied when one is given.
    The adapter's own tokenizer wins: training saves it beside the weights."""
    model = load_causal_lm(base, dtype=dtype, device=device, trust_remote_code=trust_remote_code)
    tokenizer_source = adapter if adapter is not None and has_tokenizer(adapter) else base
    tokenizer = load_tokenizer(tokenizer_source, trust_remote_code=trust_remote_code)
    if adapter is not None:
        from peft import PeftModel

        if not is_adapter_dir(adapter):
            raise FinetuneInputError(f"{adapter}: no adapter_config.json (not a LoRA adapter)", field="adapter")
        model = PeftModel.from_pretrained(model, str(adapter))
    model.eval()
    return model, tokenizer


def tokenize_examples(tokenizer: Any, examples: Sequence[Example], max_length: int) -> list[dict[str, list[int]]]:
    return [encode_example(tokenizer, ex.prompt, ex.target or "", max_length) for ex in examples]


def model_device(model: Any) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def example_losses(
    model: Any,
    features: Sequence[dict[str, list[int]]],
    pad_token_id: int,
    *,
    batch_size: int = 8,
    progress: ProgressFn | None = None,
) -> list[tuple[float, int]]:
    """(summed loss over response tokens, number of response tokens) per example, in order.
    Sums rather than means so callers can weight by tokens or by example."""
    was_training = model.training
    model.eval()
    device = model_device(model)
    results: list[tuple[float, int]] = []
    for start in range(0, len(features), batch_size):
        batch = {k: v.to(device) for k, v in pad_batch(features[start : start + batch_size], pad_token_id).items()}
        labels = batch.pop("labels")
        logits = model(**batch).logits.float()
        shifted = labels[:, 1:]
        token_loss = torch.nn.functional.cross_entropy(
            logits[:, :-1].reshape(-1, logits.size(-1)), shifted.reshape(-1), ignore_index=IGNORE_INDEX,
            reduction="none",
        ).view(shifted.shape)
        counts = (shifted != IGNORE_INDEX).sum(dim=1)
        results.extend(zip(token_loss.sum(dim=1).tolist(), counts.tolist(), strict=True))
        if progress:
            progress(len(results), len(features))
    model.train(was_training)
    return results


def mean_token_loss(losses: Sequence[tuple[float, int]]) -> float | None:
    tokens = sum(n for _, n in losses)
    return sum(loss for loss, _ in losses) / tokens if tokens else None


@torch.no_grad()
def generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    max_new_tokens: int = 32,
    max_length: int = 512,
    batch_size: int = 8,
    progress: ProgressFn | None = None,
) -> list[str]:
    """Greedy completions of the formatted prompts (left-padded batches)."""
    model.eval()
    device = model_device(model)
    _, eos = special_ids(tokenizer)
    outputs: list[str] = []
    prompt_budget = max(max_length - max_new_tokens, 8)
    for start in range(0, len(prompts), batch_size):
        features = [{"input_ids": ids, "attention_mask": [1] * len(ids)}
                    for ids in (encode_prompt(tokenizer, p, prompt_budget)
                                for p in prompts[start : start + batch_size])]
        batch = {k: v.to(device) for k, v in pad_batch(features, tokenizer.pad_token_id, left=True).items()}
        generated = model.generate(
            **batch,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=eos,
        )
        new_tokens = generated[:, batch["input_ids"].shape[1] :]
        outputs.extend(text.strip() for text in tokenizer.batch_decode(new_tokens, skip_special_tokens=True))
        if progress:
            progress(len(outputs), len(prompts))
    return outputs


def library_versions() -> dict[str, str]:
    import datasets
    import peft
    import transformers

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "datasets": datasets.__version__,
    }
