"""The scheduled check fans out (IAM enforced, on the local stack): the dispatcher finds the models
with a frozen baseline in the baseline index, keeps those of the ``monitored_models`` filter, and
invokes the one-model check asynchronously for each. The baseline's embeddings are computed once
and stored in S3; later checks embed only the current window, with the same decisions."""
from __future__ import annotations

from collections.abc import Sequence

import boto3
import numpy as np
import pytest

from driftgate.local import local_stack
from driftgate.local.deployment import REGION
from driftgate.paths import embedding_model
from driftgate.testing.realdata import gsm8k_records, ingest
from functions.common.contract import (
    BASELINE_RESERVOIR_SK,
    baseline_embeddings_key,
    model_pk,
    settings,
)
from functions.common.repositories import repositories
from functions.drift import detect_drift
from functions.drift import embedder as embedder_module
from functions.interactions import shards
from functions.interactions.sample import stored_sample
from functions.monitor.baseline_vectors import EMBEDDER_KEY, SAMPLE_KEY, sample_hash
from functions.monitor.checks import FIELDS
from functions.monitor.sample_texts import sampled_records

N = 12  # per window: above the drift test's minimum of 10
CONTEXT = {"driftgate:min_window_samples": 10, "driftgate:min_training_records": 100000}
BASELINE_DAY, CURRENT_DAY = "2026-11-20", "2026-11-21"


class RecordingEmbedder:
    """The real embedder, with a log of the texts each ``embed`` call was given."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return self.inner.embed(texts)


def records(model: str, offset: int, day: str) -> list[dict]:
    # Real GSM8K questions; each model its own request ids (the interactions table is keyed by them).
    return [{**r, "request_id": f"{model}:{r['request_id']}"}
            for r in gsm8k_records(N, start=offset, model=model, day=day)]


def with_baseline(stack, model: str, offset: int) -> None:
    assert ingest(stack, records(model, offset, BASELINE_DAY)) == N
    assert stack.api("POST", f"/v1/models/{model}/baseline").status == 200
    assert ingest(stack, records(model, offset + N, CURRENT_DAY)) == N


@pytest.fixture
def recording(monkeypatch) -> RecordingEmbedder:
    recorder = RecordingEmbedder(embedder_module.default_embedder(model_dir=embedding_model()))
    # What the check's handler resolves when it is given no embedder (functions.drift is lazy).
    monkeypatch.setattr(embedder_module, "default_embedder", lambda cache_dir=None: recorder)
    return recorder


def test_the_schedule_checks_each_model_with_a_baseline_once(recording) -> None:
    with local_stack(context={**CONTEXT, "driftgate:monitored_models": []}) as stack:
        with_baseline(stack, "alpha-bot", 0)
        with_baseline(stack, "beta-bot", 100)
        assert ingest(stack, records("gamma-bot", 200, CURRENT_DAY)) == N  # a window, never a baseline
        before = len(stack.dispatcher.invocations)

        (result,) = stack.fire_schedule()

        assert result["dispatched"] == ["alpha-bot", "beta-bot"] and result["without_baseline"] == []
        checks = {c["model"]: c for c in result["checks"]}
        assert sorted(checks) == ["alpha-bot", "beta-bot"]
        assert all(c["status"] in ("healthy", "breach-started") and c["n"] == N for c in checks.values())
        assert all(set(c["drift"]) == set(FIELDS) and all(r["error"] is None for r in c["drift"].values())
                   for c in checks.values())
        # One invocation of the dispatcher, then one of the check per model, each with its model.
        invoked = [(lid, event.get("model")) for lid, event in stack.dispatcher.invocations[before:]]
        dispatch, check = stack.function("DriftDispatch").logical_id, stack.function("DriftCheck").logical_id
        assert invoked == [(dispatch, None), (check, "alpha-bot"), (check, "beta-bot")]


def test_the_monitored_models_filter_is_honoured(recording) -> None:
    monitored = ["alpha-bot", "gamma-bot", "ghost-bot"]
    with local_stack(context={**CONTEXT, "driftgate:monitored_models": monitored}) as stack:
        with_baseline(stack, "alpha-bot", 0)
        with_baseline(stack, "beta-bot", 100)  # a baseline, but not monitored
        assert ingest(stack, records("gamma-bot", 200, CURRENT_DAY)) == N

        (result,) = stack.fire_schedule()

    assert result["dispatched"] == ["alpha-bot"]
    assert result["without_baseline"] == ["gamma-bot", "ghost-bot"]
    assert [c["model"] for c in result["checks"]] == ["alpha-bot"]


def test_baseline_embeddings_are_stored_once_and_reused(recording, synthesized_template) -> None:
    model = "alpha-bot"
    with local_stack(context={**CONTEXT, "driftgate:monitored_models": [model]}) as stack:
        with_baseline(stack, model, 0)
        with stack.environment("DriftCheck"):
            repos = repositories()
            frozen = stored_sample(repos.state.get(model_pk(model), BASELINE_RESERVOIR_SK))
            base = sampled_records(repos, frozen.entries)
            window = shards.windows(repos.state, model, newest_first=True, limit=1)[0]["start"]
            current = sampled_records(repos, shards.sample_index().window_sample(model, window).entries)
            bucket = settings.raw_bucket
        assert len(base) == len(current) == N

        (first,) = stack.fire_schedule()[0]["checks"]
        # The first check after the freeze embeds the baseline (per field) and stores the vectors ...
        assert recording.calls == [[r[f] for r in sample] for f in FIELDS for sample in (base, current)]
        s3 = boto3.client("s3", region_name=REGION)
        for field in FIELDS:
            stored = s3.get_object(Bucket=bucket, Key=baseline_embeddings_key(model, field))
            assert stored["Metadata"] == {EMBEDDER_KEY: recording.name,
                                          SAMPLE_KEY: sample_hash([r[field] for r in base])}

        # ... and every later one embeds the current window only.
        recording.calls.clear()
        (second,) = stack.fire_schedule()[0]["checks"]
        assert recording.calls == [[r[f] for r in current] for f in FIELDS]

    # The same decisions as the test on freshly embedded windows: same p-values and statistics.
    assert second["drift"] == first["drift"]
    alpha = 0.05 / len(FIELDS)
    for field in FIELDS:
        fresh = detect_drift(base, current, field, embedder=recording.inner, alpha=alpha)
        assert (second["drift"][field]["drift"], second["drift"][field]["p_value"],
                second["drift"][field]["statistic"]) == (fresh.drift, fresh.p_value, fresh.statistic)
