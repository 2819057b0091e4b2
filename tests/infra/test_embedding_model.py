"""The drift check's embedding model export: cached by a fingerprint of everything it depends on,
found where the local mode and `cdk synth` both look, int8 where it claims to be, and run by the
same library versions the tests measure."""
from __future__ import annotations

import collections
import shutil
from importlib.metadata import version
from pathlib import Path

import numpy as np
import onnx
import pytest
from packaging.requirements import Requirement

from driftgate.paths import embedding_model, state_dir
from functions.drift.onnx_embedder import MANIFEST_FILE, MODEL_FILE, SHORT_MODEL_FILE, manifest
from infra.components.handler_function import EMBEDDING_REQUIREMENTS
from infra.embedding_model import cache, export
from infra.embedding_model.quantize import PAIR_LIMIT, quantize_columns
from tests.infra.conftest import REPO_ROOT


def _pins(path: Path) -> dict[str, str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    requirements = [Requirement(line) for line in lines if line and not line.startswith("-")]
    return {r.name.lower(): str(r.specifier).removeprefix("==") for r in requirements}


def test_the_layer_runs_the_versions_the_tests_measure() -> None:
    layer = _pins(REPO_ROOT / EMBEDDING_REQUIREMENTS)
    assert set(layer) == {"onnxruntime", "tokenizers"}
    lock = _pins(REPO_ROOT / "requirements.lock")
    assert {name: version(name) for name in layer} == layer == {name: lock[name] for name in layer}


def test_synth_and_the_local_mode_share_one_cache(monkeypatch, tmp_path) -> None:
    assert cache.cache_root() == state_dir() / "embedding-model"
    monkeypatch.setenv("DRIFTGATE_HOME", str(tmp_path))
    assert cache.cache_root() == state_dir() / "embedding-model" == tmp_path / "embedding-model"


def test_an_export_is_reused_not_redone() -> None:
    folder = embedding_model()
    stamps = {path.name: path.stat().st_mtime_ns for path in folder.iterdir()}
    assert folder == cache.ensure_exported() and folder.name == cache.fingerprint()[:20]
    assert {path.name: path.stat().st_mtime_ns for path in folder.iterdir()} == stamps
    assert manifest(folder)["fingerprint"] == cache.fingerprint()
    assert manifest(folder)["versions"] == cache.versions()


def test_the_fingerprint_follows_code_weights_and_versions(tmp_path) -> None:
    code = [Path(shutil.copy(REPO_ROOT / "infra/embedding_model" / name, tmp_path / name))
            for name in ("export.py", "quantize.py")]
    source = tmp_path / "model"
    source.mkdir()
    for name in cache.SOURCE_FILES:
        shutil.copy(export.source_dir() / name, source / name)
    versions = cache.versions()
    before = cache.content_fingerprint(code, source, versions)
    assert cache.content_fingerprint(code, source, dict(versions)) == before
    assert cache.content_fingerprint(code, source, {**versions, "onnxruntime": "0.0.1"}) != before
    with (source / "config.json").open("a") as handle:
        handle.write(" ")
    assert cache.content_fingerprint(code, source, versions) != before
    (source / "config.json").write_bytes((export.source_dir() / "config.json").read_bytes())
    with code[1].open("a") as handle:
        handle.write("\n# edited\n")
    assert cache.content_fingerprint(code, source, versions) != before


def test_the_long_texts_graph_is_int8_and_the_short_one_float() -> None:
    folder = embedding_model()
    long, short = (onnx.load(str(folder / name), load_external_data=False) for name in (MODEL_FILE, SHORT_MODEL_FILE))
    ops = collections.Counter(node.op_type for node in long.graph.node)
    # 6 layers x (QKV, attention output, FFN in, FFN out); no float matrix product left.
    assert ops["MatMulIntegerToFloat"] == 24 and ops["QuantizeLinear"] == 24 and ops["MultiHeadAttention"] == 6
    assert not {"MatMul", "Attention", "Gemm", "SkipLayerNormalization"} & ops.keys()
    short_ops = collections.Counter(node.op_type for node in short.graph.node)
    assert short_ops["MatMul"] == 18 and short_ops["Attention"] == 6 and "MatMulIntegerToFloat" not in short_ops
    # One weights file for both: the same int8 tensors at the same offsets.
    def external(model):
        return {t.name: {e.key: e.value for e in t.external_data} for t in model.graph.initializer if t.external_data}
    shared = external(long).keys() & external(short).keys()
    assert {f"{name}.q" for name in ("Attention_0_qkv_weight",)} <= shared
    assert all(external(long)[name] == external(short)[name] for name in shared)
    assert (folder / MANIFEST_FILE).is_file()


@pytest.mark.parametrize("seed", range(3))
def test_no_weight_pair_can_saturate_an_int16(seed: int) -> None:
    rng = np.random.default_rng(seed)
    weight = rng.standard_t(3, size=(384, 64)).astype(np.float32)  # heavy tails: large neighbours happen
    weight[10:12, 5] = [9.0, 8.5]  # the worst case: two large weights of one sign in one aligned pair
    q, scale = quantize_columns(weight)
    pairs = q.astype(np.int32).reshape(192, 2, -1)
    for sign in (1, -1):
        assert (np.clip(sign * pairs, 0, None).sum(axis=1) * 255).max() <= PAIR_LIMIT * 255 <= 32767
    error = np.abs(q * scale - weight).max(axis=0) / np.abs(weight).max(axis=0)
    assert error.max() < 1 / 100  # within one step of 128 of each column's largest weight
