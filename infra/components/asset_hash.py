"""Asset hashes over exactly what an asset ships.

CDK hashes an asset over its ``path``; ours are bundled from several folders, so the hash is
computed here over the same file list the bundler writes. One list serves both, so the hash
cannot miss a shipped file.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

SKIPPED_PARTS = frozenset({"__pycache__", "tests"})
SKIPPED_SUFFIXES = frozenset({".pyc", ".pyo"})


def shipped_files(root: Path, relative_paths: Iterable[str]) -> list[Path]:
    """Every file under ``relative_paths`` (files or folders, relative to ``root``) that an asset
    ships, sorted; caches and tests are left out."""
    files: list[Path] = []
    for relative in relative_paths:
        path = root / relative
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        files.extend(p for p in candidates
                     if not SKIPPED_PARTS.intersection(p.relative_to(root).parts) and p.suffix not in SKIPPED_SUFFIXES)
    return sorted(set(files))


def content_hash(root: Path, files: Iterable[Path], *, salt: str = "") -> str:
    """sha256 over each file's path (relative to ``root``) and bytes; ``salt`` names anything
    else the bundle depends on (a target platform, an archive layout)."""
    digest = hashlib.sha256(salt.encode())
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
