"""Replay (warm start's continual learning) on real records: the share arithmetic, the rows it
never replays (eval side, golden ids, twins of new rows), and that it is deterministic."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from functions.dataset import DataConfig, build_training_set
from functions.dataset.build import split_fraction
from functions.dataset.inputs import DataError
from functions.dataset.replay import Replay, replay_count
from tests.conftest import GSM8K, read_records, write_jsonl

ALPACA = ("alpaca_eval", "gpt4_1106_preview.jsonl")


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize(("new", "fraction", "expected"), [(80, 0.2, 20), (81, 0.2, 20), (100, 0.5, 100),
                                                           (90, 0.1, 10), (7, 0.0, 0)])
def test_replay_count_makes_the_fraction_of_the_training_set(new: int, fraction: float, expected: int) -> None:
    count = replay_count(new, fraction)
    assert count == expected
    assert count / (new + count) <= fraction < (count + 1) / (new + count + 1)


def test_replay_adds_the_share_of_baseline_records_to_the_train_side_only(tmp_path: Path) -> None:
    new = write_jsonl(tmp_path / "new.jsonl", read_records(*GSM8K, limit=120))
    baseline = read_records(*ALPACA, limit=150)
    # Five of the new records also sit in the baseline sample: the new copy wins, none is replayed.
    candidates = write_jsonl(tmp_path / "baseline.jsonl", baseline + read_records(*GSM8K, limit=5))
    config = DataConfig(min_records=16)
    golden = frozenset(str(r["id"]) for r in baseline[:30])
    replay = Replay(source=candidates, fraction=0.2, exclude_ids=golden)

    manifest = build_training_set([new], tmp_path / "a", config, replay)
    train, evals = rows(tmp_path / "a" / "train.jsonl"), rows(tmp_path / "a" / "eval.jsonl")
    replayed = [r for r in train if r["origin"] == "replay"]
    counts = manifest["counts"]
    new_train = counts["train"] - counts["replay"]
    assert counts["replay"] == len(replayed) == replay_count(new_train, 0.2) > 0
    assert counts["replay_candidates"] == 155
    assert abs(len(replayed) / len(train) - 0.2) < 1 / len(train)
    baseline_ids = {str(r["id"]) for r in baseline}
    assert {r["id"] for r in replayed} <= baseline_ids - golden  # only baseline records, never golden ones
    assert all(split_fraction(r["id"], config.split_salt) >= config.eval_fraction for r in replayed)
    assert not any(r["origin"] == "replay" or r["id"] in baseline_ids for r in evals)
    assert len({r["id"] for r in train}) == len(train)  # no row twice (the GSM8K five stayed new rows)

    # Deterministic: the same inputs give the same files.
    again = build_training_set([new], tmp_path / "b", config, replay)
    assert again["sha256"] == manifest["sha256"]
    # Without replay, the train side is exactly the new rows.
    plain = build_training_set([new], tmp_path / "c", config)
    assert plain["counts"]["train"] == new_train and "replay" not in plain["counts"]


def test_replay_uses_every_eligible_record_when_there_are_too_few(tmp_path: Path) -> None:
    new = write_jsonl(tmp_path / "new.jsonl", read_records(*GSM8K, limit=200))
    candidates = write_jsonl(tmp_path / "baseline.jsonl", read_records(*ALPACA, limit=10))
    manifest = build_training_set([new], tmp_path / "out", DataConfig(min_records=16),
                                  Replay(source=candidates, fraction=0.5))
    counts = manifest["counts"]
    assert counts["replay_wanted"] > counts["replay"] == 10 - counts["replay_held_out"] - counts[
        "replay_duplicates_of_new"]


def test_a_replay_fraction_out_of_range_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="replay fraction must be in"):
        Replay(source=tmp_path, fraction=1.0)
