"""The real data of ../shared/data (``driftgate.paths.data_dir()``) for tests and benchmarks: the
files as they are (``load_jsonl``, ``load_alpaca_eval``), and interactions shaped as API records
(``gsm8k_records``, ``alpaca_records``) with the helpers that ingest or vary them."""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from itertools import islice
from pathlib import Path

from driftgate.paths import data_dir

ALPACA_EVAL_GENERATORS = (
    "gpt4_1106_preview",
    "Mixtral-8x7B-Instruct-v0.1",
    "Mixtral-8x7B-Instruct-v0.1_concise",
    "Mixtral-8x7B-Instruct-v0.1_verbose",
    "alpaca-7b",
)
_SHE = frozenset({"she", "her", "hers", "herself"})
_HE = frozenset({"he", "him", "his", "himself"})


def load_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_alpaca_eval(generators: Iterable[str] = ALPACA_EVAL_GENERATORS) -> list[dict]:
    """Every record of ``alpaca_eval/<generator>.jsonl`` for each generator (805 each, in order)."""
    folder = data_dir() / "alpaca_eval"
    return [r for g in generators for r in load_jsonl(folder / f"{g}.jsonl")]


def answer_key(solution: str) -> str:
    """The last line of a GSM8K worked solution: ``#### 18``."""
    return solution.strip().splitlines()[-1].strip()


def gsm8k_records(n: int, *, start: int = 0, model: str = "support-bot", day: str = "2026-11-20") -> list[dict]:
    """GSM8K questions answered with their worked solutions (a correct model), scored against the
    answer key alone (``#### 18``). The data holds no model's answers to these questions, so the
    output is the dataset's own solution: correct by construction, but not its own reference,
    so exact match is earned by extracting the answer from the worked text (quality ~0.71, not 1)."""
    with open(data_dir() / "gsm8k" / "test.jsonl") as lines:
        rows = [json.loads(line) for line in islice(lines, start, start + n)]
    return [{"request_id": row["id"], "model": model, "prompt": row["prompt"], "output": row["reference"],
             "reference": answer_key(row["reference"]), "timestamp": f"{day}T12:00:00Z"} for row in rows]


def subject_pronoun(question: str) -> str | None:
    """The pronoun a question speaks of its people with, "she" or "he" (None with both or
    neither): a group read from the real text, standing in for a protected attribute (gender)."""
    found = set(re.findall(r"[a-z]+", question.lower()))
    she, he = bool(found & _SHE), bool(found & _HE)
    return "she" if she and not he else "he" if he and not she else None


def with_subject(records: list[dict]) -> list[dict]:
    """GSM8K records that have a subject pronoun, with it as ``metadata.subject`` (and a user id,
    which is not a declared attribute: the training rows must not keep it)."""
    return [{**r, "metadata": {"subject": subject, "user_id": f"user-{i % 7}"}}
            for i, r in enumerate(records) if (subject := subject_pronoun(r["prompt"]))]


def answers(records: list[dict], *, wrong_for: str | None = None) -> dict[str, str]:
    """What a model answers, by request id: each question's worked solution, except that
    questions about ``wrong_for`` get the next question's solution (a wrong answer written for
    another question: a model that fails one group)."""
    return {r["request_id"]: (records[(i + 1) % len(records)]["output"]
                              if wrong_for and r["metadata"]["subject"] == wrong_for else r["output"])
            for i, r in enumerate(records)}


def alpaca_records(generator: str, n: int, *, start: int = 0, model: str = "support-bot",
                   day: str = "2026-11-21") -> list[dict]:
    with open(data_dir() / "alpaca_eval" / f"{generator}.jsonl") as lines:
        rows = [json.loads(line) for line in islice(lines, start, start + n)]
    return [{"request_id": row["id"], "model": model, "prompt": row["prompt"], "output": row["output"],
             "metadata": {"prompt_set": row["prompt_set"]}, "timestamp": f"{day}T12:00:00Z"} for row in rows]


def ingest(stack, records: list[dict]) -> int:
    accepted = 0
    for start in range(0, len(records), 100):
        response = stack.api("POST", "/v1/interactions", {"interactions": records[start:start + 100]})
        assert response.status == 200, response.body
        accepted += response.json()["accepted"]
    return accepted
