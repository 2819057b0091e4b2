"""Right to erasure: removes one end user's interactions, found by ``metadata.user_id`` through
the interactions table's by-user index, from everywhere they are kept as text, but for the training
sets of past runs (``datasets/`` in the artifacts bucket), which are kept PII-scrubbed with the
adapters they trained (README, Data minimisation); the tombstone drops the item's marks of them.

Per user: the drift reports' example texts, the window and baseline samples, the stored baseline embeddings
of each model the user used (recomputed from the scrubbed sample by the next check), the frozen golden sets
(old object versions included) lose the user's records, each raw S3 object is rewritten without
the user's lines (deleted when none are left; the raw bucket is unversioned), so is the frozen
baseline's copy of its sample's lines, and then the items become tombstones (``request_id``,
``erased_at``: no text, no user id, no feedback). Window aggregates (counts, sums) are not personal data and stay.

Records are found by the keyed hash of the given id and, for records stored before ids were
hashed, by the raw id too (``functions.interactions.pseudonyms``).

Every step is idempotent and the tombstones come last: the index finds the
user's items until their tombstone is written, so an erasure that failed half-way is finished
by running it again, and a finished one finds nothing (a receipt of zeros). Tombstones keep the
request ids, so a retried ingest of an old batch counts those records as duplicates and writes
nothing of them to S3 again (``store.write_raw``).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from functools import lru_cache

from functions.common.clients import client, region
from functions.common.contract import BASELINE_RESERVOIR_SK, baseline_records_key, model_pk, settings
from functions.common.repositories import utc_now
from functions.interactions.erasure_store import ErasureStore, UserRecord
from functions.interactions.golden import GoldenSets
from functions.interactions.models import ErasureReceipt
from functions.interactions.pseudonyms import user_id_key
from functions.interactions.raw import JsonLinesObjects
from functions.interactions.shards import sample_index


def erase_user(user_id: str) -> ErasureReceipt:
    store, golden = erasure_store(), golden_sets()
    erased_at = utc_now()
    forms = user_id_key().stored_forms(user_id)  # the keyed hash, and the raw id of pre-hashing records
    records = store.records_of(forms)
    ids = {r.request_id for r in records}
    by_key: dict[str, list[UserRecord]] = defaultdict(list)
    per_model: dict[str, Counter[str]] = defaultdict(Counter)
    for record in records:
        by_key[record.raw_key].append(record)
        per_model[record.model][record.window] += 1
    counts: Counter[str] = Counter()

    texts = store.texts(set(by_key), forms, ids)  # read before the rewrites remove them
    for model, windows in sorted(per_model.items()):
        # A window's sample is read from the sample index, which the tombstones below leave (the
        # next-ranked records take their places): count the user's records in it now. The frozen
        # baseline's sample is a snapshot, scrubbed here.
        for window in sorted(windows):
            sampled = sample_index().window_sample(model, window).request_ids()
            counts["reservoir_samples_removed"] += len(ids.intersection(sampled))
        counts["reservoir_samples_removed"] += store.scrub_sample(model_pk(model), BASELINE_RESERVOIR_SK, ids)
        counts["drift_examples_removed"] += store.scrub_drift_reports(model, texts)
        store.delete_baseline_vectors(model)
        counts["baseline_vectors_cleared"] += 1
        rows, versions = golden.erase(model, ids)
        counts["golden_rows_removed"] += rows
        counts["old_versions_deleted"] += versions
    for key in sorted(by_key):
        removed, rewritten, deleted = store.erase_raw(key, forms, ids)
        counts["raw_lines_removed"] += removed
        counts["raw_objects_rewritten"] += rewritten
        counts["raw_objects_deleted"] += deleted
    # The frozen baseline's copy of its sample's lines, after the raw rewrites: a drift check that
    # read a line before them cannot write it back (its copy is conditional on the version it read).
    for model in sorted(per_model):
        counts["baseline_texts_removed"] += store.erase_raw(baseline_records_key(model), forms, ids)[0]
    for record in records:
        replaced, had_feedback = store.tombstone(record.request_id, record.user_id, erased_at)
        counts["interactions_erased"] += replaced
        counts["feedback_erased"] += had_feedback
    numbers = [name for name in ErasureReceipt.model_fields if name not in ("user_id", "erased_at")]
    return ErasureReceipt(user_id=user_id, erased_at=erased_at, **{name: counts[name] for name in numbers})




@lru_cache(maxsize=8)
def _store(region_name: str | None, interactions_table: str, user_index: str, state_table: str,
           raw_bucket: str) -> ErasureStore:
    return ErasureStore(
        dynamodb=client("dynamodb"),
        raw=JsonLinesObjects(client("s3"), raw_bucket),
        interactions_table=interactions_table, user_index=user_index, state_table=state_table,
    )


@lru_cache(maxsize=8)
def _golden(region_name: str | None, artifacts_bucket: str) -> GoldenSets:
    return GoldenSets(client("s3"), artifacts_bucket)


def erasure_store() -> ErasureStore:
    return _store(region(), settings.interactions_table, settings.interactions_user_index,
                  settings.state_table, settings.raw_bucket)


def golden_sets() -> GoldenSets:
    return _golden(region(), settings.artifacts_bucket)
