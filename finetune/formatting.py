"""Reading examples, the prompt template and tokenisation: shared by pretraining, training and
evaluation, so that an adapter is always evaluated on exactly the text it was trained on.

A record becomes an :class:`Example` with one rule everywhere:

* the *target* (what the loss is computed on) is ``response``, else ``output``, else ``reference``
  (prepared training rows carry ``response``; raw interactions carry ``output``; GSM8K has only a
  ``reference``);
* the *reference* (what generated outputs are scored against) is ``reference``, else ``response``;
* the *metadata* is the row's ``metadata`` object as it is (prepared rows keep only the protected
  attributes the gate compares groups by; see ``functions.dataset``).
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finetune.errors import FinetuneInputError

INSTRUCTION_HEADER = "### Instruction:\n"
RESPONSE_HEADER = "\n\n### Response:\n"
IGNORE_INDEX = -100  # label value the causal-LM loss skips
JSONL_SUFFIXES = (".jsonl", ".json")


@dataclass(frozen=True)
class Example:
    id: str
    prompt: str
    target: str | None
    reference: str | None
    metadata: Mapping[str, Any] | None = None


def format_prompt(prompt: str) -> str:
    return f"{INSTRUCTION_HEADER}{prompt}{RESPONSE_HEADER}"


def jsonl_files(path: str | Path) -> list[Path]:
    """``path`` itself, or the JSON Lines files in it (a SageMaker channel is a directory)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in JSONL_SUFFIXES)
        if not files:
            raise FinetuneInputError(f"{path}: directory has no .jsonl files")
        return files
    if not path.is_file():
        raise FinetuneInputError(f"{path}: file not found")
    return [path]


def iter_jsonl(path: str | Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``("file:line", record)`` for every non-blank line; bad lines raise with their place."""
    for file in jsonl_files(path):
        with file.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"{file}:{number}"
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise FinetuneInputError(f"{where}: not valid JSON ({exc.msg})") from None
                if not isinstance(record, dict):
                    raise FinetuneInputError(f"{where}: expected a JSON object, got {type(record).__name__}")
                yield where, record


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    records = [record for _, record in iter_jsonl(path)]
    if not records:
        raise FinetuneInputError(f"{path}: no records (empty file)")
    return records


def optional_text(record: Mapping[str, Any], key: str, where: str,
                  error: type[FinetuneInputError] = FinetuneInputError) -> str | None:
    """A record's text field: None when absent or blank; a non-string is ``error`` naming the field."""
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise error(f"{where}: field '{key}' must be a string, got {type(value).__name__}", field=key)
    return value if value.strip() else None


def to_example(record: Mapping[str, Any], where: str, *, require_target: bool = True) -> Example:
    prompt = optional_text(record, "prompt", where)
    if prompt is None:
        raise FinetuneInputError(f"{where}: missing field 'prompt'", field="prompt")
    response, output, reference = (optional_text(record, k, where) for k in ("response", "output", "reference"))
    target = response or output or reference
    if require_target and target is None:
        raise FinetuneInputError(
            f"{where}: missing field 'response' (or 'output'/'reference'): nothing to train on", field="response"
        )
    metadata = record.get("metadata")
    if metadata is not None and not isinstance(metadata, Mapping):
        raise FinetuneInputError(f"{where}: field 'metadata' must be an object", field="metadata")
    record_id = record.get("id", record.get("request_id"))
    return Example(
        id=str(record_id) if record_id is not None else where.rsplit("/", 1)[-1],
        prompt=prompt,
        target=target,
        reference=reference or response,
        metadata=metadata or None,
    )


def load_examples(path: str | Path, *, require_target: bool = True, limit: int | None = None) -> list[Example]:
    examples = [to_example(r, where, require_target=require_target) for where, r in iter_jsonl(path)]
    if not examples:
        raise FinetuneInputError(f"{path}: no records (empty file)")
    return examples[:limit] if limit else examples


def special_ids(tokenizer: Any) -> tuple[int | None, int | None]:
    """(bos, eos). BERT-style vocabularies (the tiny base's MiniLM) only have [CLS]/[SEP]."""
    bos = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.cls_token_id
    eos = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.sep_token_id
    return bos, eos


def _ids(tokenizer: Any, text: str, limit: int) -> list[int]:
    # Truncating while tokenising keeps the head and avoids over-length warnings on long outputs.
    return tokenizer(text, add_special_tokens=False, truncation=True, max_length=max(limit, 1))["input_ids"]


def encode_prompt(tokenizer: Any, prompt: str, max_length: int) -> list[int]:
    """Token ids of the formatted prompt, at most ``max_length``; the response header is never cut."""
    bos, _ = special_ids(tokenizer)
    head = [bos] if bos is not None else []
    tail = _ids(tokenizer, RESPONSE_HEADER, max_length)
    budget = max_length - len(head) - len(tail)
    if budget < 1:
        raise FinetuneInputError(f"max_length {max_length} is too small for the prompt template", field="max_length")
    return head + _ids(tokenizer, INSTRUCTION_HEADER + prompt, budget) + tail


def encode_example(tokenizer: Any, prompt: str, target: str, max_length: int) -> dict[str, list[int]]:
    """Prompt + target (+ eos) as one sequence; labels are -100 on the prompt so the loss only
    counts response tokens. The response keeps at least half the budget when both are long."""
    _, eos = special_ids(tokenizer)
    response = _ids(tokenizer, target, max_length) + ([eos] if eos is not None else [])
    prompt_ids = encode_prompt(tokenizer, prompt, max(max_length - len(response), max_length - max_length // 2))
    response = response[: max_length - len(prompt_ids)]
    return {
        "input_ids": prompt_ids + response,
        "attention_mask": [1] * (len(prompt_ids) + len(response)),
        "labels": [IGNORE_INDEX] * len(prompt_ids) + response,
    }


def pad_batch(features: Sequence[Mapping[str, Sequence[int]]], pad_token_id: int, *, left: bool = False) -> dict:
    """Pad to the longest sequence (labels with -100). Left padding is for generation."""
    import torch

    width = max(len(f["input_ids"]) for f in features)
    batch: dict[str, list[list[int]]] = {key: [] for key in features[0]
                                         if key in ("input_ids", "attention_mask", "labels")}
    fill = {"input_ids": pad_token_id, "attention_mask": 0, "labels": IGNORE_INDEX}
    for feature in features:
        for key in batch:
            values = list(feature[key])
            padding = [fill[key]] * (width - len(values))
            batch[key].append(padding + values if left else values + padding)
    return {key: torch.tensor(value, dtype=torch.long) for key, value in batch.items()}


class CausalLMCollator:
    """Data collator for ``transformers.Trainer``: right padding, -100 labels on padding."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, features: list[Mapping[str, Sequence[int]]]) -> dict:
        return pad_batch(features, self.pad_token_id)
