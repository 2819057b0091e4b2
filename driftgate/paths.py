"""Where things live, found from this file, never from the current directory."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """The real interaction data (``../shared/data`` beside the checkout), or ``$DRIFTGATE_DATA``."""
    override = os.environ.get("DRIFTGATE_DATA")
    return Path(override) if override else REPO_ROOT.parent / "shared" / "data"


def state_dir() -> Path:
    """Local caches (tiny base model, local stack state): ``$DRIFTGATE_HOME`` or ``.driftgate/``."""
    override = os.environ.get("DRIFTGATE_HOME")
    path = Path(override) if override else REPO_ROOT / ".driftgate"
    path.mkdir(parents=True, exist_ok=True)
    return path


def tiny_base_cache() -> Path:
    """Where the tiny base models are built, one folder per recipe (``finetune.base_model``)."""
    return state_dir() / "tiny-base"


def embedding_cache() -> Path:
    """The MiniLM embeddings of texts already seen (``functions.drift.CachedEmbedder``)."""
    return state_dir() / "embeddings"


def embedding_model() -> Path:
    """The drift check's ONNX embedding model, exported once per fingerprint into
    ``state_dir()/embedding-model`` (``infra.embedding_model``: where ``cdk synth`` bundles it from)."""
    from infra.embedding_model.cache import ensure_exported

    return ensure_exported(state_dir() / "embedding-model")
