"""Replay for continual learning (warm start): old records added to a new training set, so a
challenger that starts from the production adapter is also reminded of what it already served
well (the replay term of the guide's eq. 8, against catastrophic forgetting).

The replayed records are ``fraction`` of the training set: ``k`` replay rows beside ``n`` new
ones with ``k / (n + k) = fraction`` (rounded down, and never more than there are candidates).
Candidates go through the same selection, PII scrubbing and duplicate checks as new records
(``build.prepare_rows``) and then, so the set stays honest:

- none duplicates a new row, exactly or nearly, train or eval (the new data wins; a replayed copy
  of an eval row would leak it into training);
- none is on the eval side of the split, nor in ``exclude_ids`` (the frozen golden set's ids): the
  gate measures forgetting on the golden set, which training must not see;
- the choice is deterministic: candidates ranked by a salted hash of their id, the first ``k``
  kept, so a retried run replays the same rows.

Replayed rows carry ``origin: "replay"``. Erased records are never candidates: the caller reads
them from the frozen baseline's sample, which an erasure scrubs, through ``stored.write_source``,
which drops tombstoned records.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from functions.dataset.build import DataConfig, Row, dedupe, prepare_rows, split_fraction
from functions.dataset.inputs import DataError, read_records

REPLAY_SALT = "driftgate-replay-v1"


@dataclass(frozen=True)
class Replay:
    source: Path  # JSON Lines of candidate records (the frozen baseline's sample)
    fraction: float
    exclude_ids: frozenset[str] = frozenset()  # row ids never replayed (the golden set's)

    def __post_init__(self) -> None:
        if not 0.0 <= self.fraction < 1.0:
            raise DataError(f"replay fraction must be in [0, 1), got {self.fraction}", field="replay_fraction")


def replay_count(new_rows: int, fraction: float) -> int:
    """Replay rows that make up ``fraction`` of a training set with ``new_rows`` new rows."""
    # The epsilon keeps exact ratios exact (0.2 * 80 / 0.8 is 19.999... in floating point).
    return math.floor(fraction * new_rows / (1.0 - fraction) + 1e-9)


def replay_rows(new: Sequence[Row], train_rows: int, replay: Replay,
                config: DataConfig) -> tuple[list[Row], Counter]:
    """The rows to replay beside ``new`` (every new row, train and eval, of which ``train_rows``
    train), and their counts for the manifest."""
    candidates, _ = prepare_rows(read_records(replay.source), config)
    eligible = [row for row in candidates if row.id not in replay.exclude_ids
                and split_fraction(row.id, config.split_salt) >= config.eval_fraction]
    new_ids = {row.id for row in new}
    kept, _, _ = dedupe([*new, *eligible], config)  # first seen wins: a new row over its replayed twin
    fresh = sorted((row for row in kept if row.id not in new_ids),
                   key=lambda row: split_fraction(row.id, REPLAY_SALT))
    wanted = replay_count(train_rows, replay.fraction)
    chosen = fresh[:wanted]
    for row in chosen:
        row.origin = "replay"
    counts = Counter({"replay_candidates": len(candidates), "replay_held_out": len(candidates) - len(eligible),
                      "replay_duplicates_of_new": len(eligible) - len(fresh), "replay_wanted": wanted,
                      "replay": len(chosen)})
    return chosen, counts
