"""Build a fine-tuning set from interaction records.

Accepts both record shapes the project has: the shared data (``id, prompt, output, reference,
generator, prompt_set, judge_pref_over_reference``) and the raw interactions the API stores
(``request_id, model, prompt, output, reference?, scores {quality, flags}?, feedback {rating,
correction}?, metadata?``). Steps, each counted in the manifest:

1. select: a correction replaces the output and keeps the record; negative feedback without a
   correction drops it; positive feedback keeps it; otherwise ``scores.quality`` must reach
   ``min_quality`` (records without scores, like the shared data, pass) and no flag in
   ``drop_flags`` may be set. A record with no output falls back to its reference (GSM8K).
2. scrub PII (e-mails, phones, cards, SSNs, IBANs) from prompts, responses and references, with
   the same scrubber the API uses (``functions.scoring.scrub_pii``);
3. drop exact duplicates (normalised text hash, or a repeated id) and near duplicates (word
   shingle Jaccard >= ``near_duplicate_threshold``; MinHash-LSH finds candidates, exact Jaccard
   decides); the first record seen wins;
4. split train/eval by a hash of the record id, so a record stays on its side as data grows.

A record's ``metadata`` is dropped, except the attributes named in ``protected_attributes`` (the
gate's declared ``protected_attribute``): rows keep those, scrubbed like the text, so the eval and
golden examples carry the groups the gate's disparate-impact guard compares, and nothing else.

Output: ``train.jsonl``, ``eval.jsonl`` (rows ``id, prompt, response, reference?, origin,
source?, quality?, metadata?``) and ``manifest.json``.
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from functions.dataset.inputs import DataError, input_sha256, read_records
from functions.scoring import scrub_pii

if TYPE_CHECKING:
    from functions.dataset.replay import Replay

MANIFEST_SCHEMA = "driftgate.finetune.dataset/v1"
_NON_ALNUM = re.compile(r"[^\w]+")
_NEGATIVE_WORDS = frozenset({"down", "thumbs_down", "thumbsdown", "negative", "bad", "no"})
_POSITIVE_WORDS = frozenset({"up", "thumbs_up", "thumbsup", "positive", "good", "yes"})
_MINHASH_PRIME = (1 << 31) - 1  # (a * x + b) stays inside uint64 for x, a < 2**31


@dataclass(frozen=True)
class DataConfig:
    min_quality: float | None = 0.5
    min_judge_pref: float | None = None
    drop_flags: tuple[str, ...] = ()
    negative_rating_at_most: float = 0.0  # numeric ratings at or below this are negative (thumbs: -1/0)
    near_duplicate_threshold: float = 0.8
    shingle_words: int = 5
    minhash_permutations: int = 64
    minhash_bands: int = 16
    eval_fraction: float = 0.1
    split_salt: str = "driftgate-split-v1"
    min_records: int = 16
    scrub_pii: bool = True
    protected_attributes: tuple[str, ...] = ()  # metadata keys rows keep (the gate's groups)

    def __post_init__(self) -> None:
        if not 0.0 < self.eval_fraction < 1.0:
            raise DataError(f"eval_fraction must be in (0, 1), got {self.eval_fraction}", field="eval_fraction")
        if not 0.0 < self.near_duplicate_threshold <= 1.0:
            raise DataError("near_duplicate_threshold must be in (0, 1]", field="near_duplicate_threshold")
        if self.minhash_permutations % self.minhash_bands:
            raise DataError("minhash_permutations must be a multiple of minhash_bands", field="minhash_bands")
        if self.min_records < 2:
            raise DataError("min_records must be at least 2 (one train, one eval)", field="min_records")


@dataclass
class Row:
    id: str
    prompt: str
    response: str
    origin: str  # output | correction | reference
    reference: str | None = None
    source: str | None = None
    quality: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        row: dict[str, Any] = {"id": self.id, "prompt": self.prompt, "response": self.response, "origin": self.origin}
        for key in ("reference", "source", "quality"):
            if getattr(self, key) is not None:
                row[key] = getattr(self, key)
        if self.metadata:
            row["metadata"] = self.metadata
        return row


# --------------------------------------------------------------------------- selection


def feedback_polarity(rating: Any, negative_at_most: float = 0.0) -> int:
    """-1 negative, +1 positive, 0 no opinion. Accepts booleans, thumbs words and numbers."""
    if rating is None:
        return 0
    if isinstance(rating, bool):
        return 1 if rating else -1
    if isinstance(rating, (int, float)):
        return -1 if rating <= negative_at_most else 1
    if isinstance(rating, str):
        word = rating.strip().lower()
        if word in _NEGATIVE_WORDS:
            return -1
        if word in _POSITIVE_WORDS:
            return 1
        try:
            return feedback_polarity(float(word), negative_at_most)
        except ValueError:
            return 0
    return 0


def _opt_str(record: Mapping[str, Any], key: str, where: str) -> str | None:
    """A text field: None when absent or blank; a non-string names the field."""
    value = record.get(key)
    if value is not None and not isinstance(value, str):
        raise DataError(f"{where}: field '{key}' must be a string, got {type(value).__name__}", field=key)
    return value if value and value.strip() else None


def _mapping(record: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = record.get(key) or {}
    if not isinstance(value, Mapping):
        raise DataError(f"{where}: field '{key}' must be an object", field=key)
    return value


def select_record(record: Mapping[str, Any], where: str, config: DataConfig) -> tuple[Row | None, str]:
    """The training row for one record, or ``None``, with the reason (a manifest counter)."""
    record_id = record.get("id", record.get("request_id"))
    if record_id is None or str(record_id).strip() == "":
        raise DataError(f"{where}: missing field 'id' (or 'request_id')", field="id")
    prompt = _opt_str(record, "prompt", where)
    if prompt is None:
        raise DataError(f"{where}: missing field 'prompt'", field="prompt")
    if not any(key in record for key in ("output", "response", "reference")):
        raise DataError(f"{where}: missing field 'output'", field="output")

    output = _opt_str(record, "response", where) or _opt_str(record, "output", where)
    reference = _opt_str(record, "reference", where)
    scores = _mapping(record, "scores", where)
    feedback = _mapping(record, "feedback", where)
    correction = feedback.get("correction")
    if correction is not None and not isinstance(correction, str):
        raise DataError(f"{where}: field 'feedback.correction' must be a string", field="feedback.correction")
    source = record.get("generator") or record.get("model")
    metadata = _mapping(record, "metadata", where)
    kept_metadata = {key: metadata[key] for key in config.protected_attributes if metadata.get(key) is not None}

    def row(response: str, origin: str) -> Row:
        quality = scores.get("quality")
        return Row(str(record_id), prompt, response, origin, reference, source,
                   float(quality) if isinstance(quality, (int, float)) else None, dict(kept_metadata))

    if correction and correction.strip():
        return row(correction, "correction"), "corrected"
    polarity = feedback_polarity(feedback.get("rating"), config.negative_rating_at_most)
    if polarity < 0:
        return None, "negative_feedback"
    if output is None:
        return (row(reference, "reference"), "reference_as_target") if reference else (None, "no_response")
    if polarity > 0:
        return row(output, "output"), "kept_by_feedback"
    quality = scores.get("quality")
    if config.min_quality is not None and isinstance(quality, (int, float)) and quality < config.min_quality:
        return None, "low_quality"
    flags = scores.get("flags") or []
    if config.drop_flags and any(flag in config.drop_flags for flag in flags):
        return None, "flagged"
    pref = record.get("judge_pref_over_reference")
    if config.min_judge_pref is not None and isinstance(pref, (int, float)) and pref < config.min_judge_pref:
        return None, "low_judge_pref"
    return row(output, "output"), "kept" if isinstance(quality, (int, float)) else "unscored"


# --------------------------------------------------------------------------- PII


def row_id(record_id: str) -> str:
    """The id a record's row has once scrubbed: its own, or a digest of an id that holds PII (a
    caller's request id is an identifier, not text to learn from: a stable digest keeps the split
    and the link back to the record without copying the PII into the dataset)."""
    if scrub_pii(record_id) == record_id:
        return record_id
    return "sha256:" + hashlib.sha256(record_id.encode()).hexdigest()[:24]


def scrub_row(row: Row) -> bool:
    """Scrub PII in place; True when anything was replaced."""
    changed = False
    if (scrubbed := row_id(row.id)) != row.id:
        row.id = scrubbed
        changed = True
    for key in ("prompt", "response", "reference"):
        value = getattr(row, key)
        if value:
            clean = scrub_pii(value)
            if clean != value:
                setattr(row, key, clean)
                changed = True
    for key, value in row.metadata.items():
        if isinstance(value, str) and scrub_pii(value) != value:
            row.metadata[key] = scrub_pii(value)
            changed = True
    return changed


# --------------------------------------------------------------------------- dedupe


def normalize(text: str) -> str:
    """Case-, punctuation- and whitespace-insensitive form used for duplicate detection."""
    return " ".join(_NON_ALNUM.sub(" ", unicodedata.normalize("NFKC", text).lower()).split())


def shingles(text: str, k: int) -> np.ndarray:
    """Unique crc32 hashes of the word k-grams of the normalised text."""
    words = normalize(text).split()
    grams = [" ".join(words[i : i + k]) for i in range(max(len(words) - k + 1, 1))]
    return np.unique(np.fromiter((zlib.crc32(g.encode()) for g in grams), dtype=np.uint64, count=len(grams)))


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    inter = np.intersect1d(a, b, assume_unique=True).size
    return inter / (a.size + b.size - inter) if (a.size or b.size) else 1.0


class NearDuplicateIndex:
    """MinHash LSH over shingle sets: banding proposes candidates cheaply, exact Jaccard on the
    stored shingles decides, so the threshold is exact and LSH only bounds the work."""

    def __init__(self, threshold: float, permutations: int, bands: int, seed: int = 1) -> None:
        rng = np.random.default_rng(seed)
        self.a = rng.integers(1, _MINHASH_PRIME, size=(permutations, 1), dtype=np.uint64)
        self.b = rng.integers(0, _MINHASH_PRIME, size=(permutations, 1), dtype=np.uint64)
        self.threshold = threshold
        self.rows = permutations // bands
        self.buckets: dict[tuple[int, bytes], list[int]] = {}
        self.sets: list[np.ndarray] = []

    def _band_keys(self, items: np.ndarray) -> list[tuple[int, bytes]]:
        hashed = (self.a * (items[None, :] % _MINHASH_PRIME) + self.b) % _MINHASH_PRIME
        signature = hashed.min(axis=1)
        return [(i, signature[i * self.rows : (i + 1) * self.rows].tobytes())
                for i in range(len(signature) // self.rows)]

    def add_if_new(self, items: np.ndarray) -> bool:
        """Insert ``items`` unless a stored set is a near duplicate; True when inserted."""
        keys = self._band_keys(items)
        candidates = {c for key in keys for c in self.buckets.get(key, ())}
        if any(jaccard(items, self.sets[c]) >= self.threshold for c in candidates):
            return False
        index = len(self.sets)
        self.sets.append(items)
        for key in keys:
            self.buckets.setdefault(key, []).append(index)
        return True


def dedupe(rows: Sequence[Row], config: DataConfig) -> tuple[list[Row], int, int]:
    """(kept rows, exact duplicates, near duplicates), first occurrence wins."""
    seen_hashes: set[str] = set()
    seen_ids: set[str] = set()
    index = NearDuplicateIndex(config.near_duplicate_threshold, config.minhash_permutations, config.minhash_bands)
    kept: list[Row] = []
    exact = near = 0
    for row in rows:
        text = f"{row.prompt}\n{row.response}"
        digest = hashlib.sha256(normalize(text).encode()).hexdigest()
        if digest in seen_hashes or row.id in seen_ids:
            exact += 1
            continue
        seen_hashes.add(digest)
        seen_ids.add(row.id)
        if not index.add_if_new(shingles(text, config.shingle_words)):
            near += 1
            continue
        kept.append(row)
    return kept, exact, near


# --------------------------------------------------------------------------- split + write


def split_fraction(record_id: str, salt: str) -> float:
    """A stable number in [0, 1) for the id: the same id always lands on the same side."""
    digest = hashlib.sha256(f"{salt}:{record_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_rows(rows: Sequence[Row], config: DataConfig) -> tuple[list[Row], list[Row]]:
    fractions = [split_fraction(row.id, config.split_salt) for row in rows]
    train = [row for row, f in zip(rows, fractions, strict=True) if f >= config.eval_fraction]
    evals = [row for row, f in zip(rows, fractions, strict=True) if f < config.eval_fraction]
    if not evals:
        # Small sets can miss the eval side by chance: take the id nearest to it (still a pure
        # function of the ids, so still deterministic).
        nearest = min(range(len(rows)), key=fractions.__getitem__)
        evals = [rows[nearest]]
        train = [row for i, row in enumerate(rows) if i != nearest]
    return train, evals


def _jsonl_bytes(rows: Iterable[Row]) -> bytes:
    return "".join(json.dumps(r.to_json(), ensure_ascii=False, sort_keys=True) + "\n" for r in rows).encode()


def prepare_rows(records: Iterable[tuple[str, Mapping[str, Any]]], config: DataConfig) -> tuple[list[Row], Counter]:
    """Select, scrub and dedupe ``(where, record)`` pairs; returns rows and per-step counts."""
    counts: Counter = Counter()
    selected: list[Row] = []
    for where, record in records:
        counts["input"] += 1
        row, reason = select_record(record, where, config)
        counts[reason] += 1
        if row is not None:
            selected.append(row)
    counts["after_selection"] = len(selected)
    if config.scrub_pii:
        counts["pii_scrubbed"] = sum(scrub_row(row) for row in selected)
    kept, exact, near = dedupe(selected, config)
    counts["exact_duplicates"], counts["near_duplicates"], counts["after_dedupe"] = exact, near, len(kept)
    return kept, counts


def build_training_set(
    inputs: Sequence[str | Path], output_dir: str | Path, config: DataConfig | None = None,
    replay: Replay | None = None,
) -> dict[str, Any]:
    """Read JSON Lines ``inputs`` (files or directories), write ``train.jsonl``, ``eval.jsonl``
    and ``manifest.json`` into ``output_dir``; return the manifest. Too few records left after
    filtering is a :class:`DataError`. ``replay``: old records added to the train side only
    (``functions.dataset.replay``)."""
    config = config or DataConfig()
    if not inputs:
        raise DataError("no input files given", field="data")

    def records() -> Iterable[tuple[str, Mapping[str, Any]]]:
        for path in inputs:
            empty = True
            for item in read_records(path):
                empty = False
                yield item
            if empty:
                raise DataError(f"{path}: no records (empty file)", field="data")

    rows, counts = prepare_rows(records(), config)
    if len(rows) < config.min_records:
        raise DataError(
            f"too few records to fine-tune: {len(rows)} left after filtering, need at least "
            f"{config.min_records} (counts: {dict(counts)})",
            field="data",
        )
    train, evals = split_rows(rows, config)
    if replay is not None:
        from functions.dataset.replay import replay_rows  # it builds on this module

        replayed, replay_counts = replay_rows(rows, len(train), replay, config)
        train += replayed
        counts.update(replay_counts)
    counts["train"], counts["eval"] = len(train), len(evals)

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict[str, Any]] = {}
    for name, split in (("train", train), ("eval", evals)):
        content = _jsonl_bytes(split)
        (output_dir / f"{name}.jsonl").write_bytes(content)
        files[name] = {"file": f"{name}.jsonl", "records": len(split), "sha256": hashlib.sha256(content).hexdigest()}
    manifest = {
        "schema": MANIFEST_SCHEMA,
        "inputs": [{"name": Path(p).name, "sha256": input_sha256(p)} for p in inputs],
        "filters": asdict(config),
        "counts": dict(sorted(counts.items())),
        "train": files["train"],
        "eval": files["eval"],
        "sha256": hashlib.sha256((files["train"]["sha256"] + files["eval"]["sha256"]).encode()).hexdigest(),
    }
    (output_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest
