"""The drift check's ONNX embedder against sentence-transformers on torch (fp32), on the real texts.

    .venv/bin/python -m benchmarks.bench_embeddings [--sample N] [--rounds N] [--permutations N] [--no-size]

Prints, then ends with one JSON line:

- **cosine** of each text's two vectors (min, mean; every distinct prompt and output of
  ``alpaca_eval/*.jsonl`` and ``gsm8k``), overall and for the texts of at most 16 tokens (the
  float-activation graph) and longer (int8 activations). Threshold (issue #14): 0.99 for every text.
- **throughput**, texts per CPU-second at one thread each (one core), ONNX and torch on the same
  random texts in alternating rounds, best round each; their ratio (threshold: 2x).
- **drift decisions**: ``bench_drift``'s 1,900 window pairs at its sizes (1,200 same-distribution
  splits and paired nulls, 700 drifted) decided on ONNX vectors and on torch vectors: each row's
  alarm rate both ways, the pairs whose decision differs, and whether every row's difference is
  within its binomial error (1.96 standard errors of a difference of two rates over the row's runs).
- **cold start** in fresh processes (best of 3): importing the drift check's handler module, then
  its first embed (model load included); the same for sentence-transformers on torch.
- **size**, unzipped: the drift check's code asset and its three layers, bundled here as
  ``cdk synth`` bundles them (pip downloads the Lambda wheels), against Lambda's 250 MB.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch or numpy start their pools
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20,22")  # jsii, when sizing the layers
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # runnable as a plain script

LAMBDA_LIMIT_BYTES = 262_144_000  # 250 MiB unzipped: a function's code and all its layers
MIN_COSINE, MIN_SPEEDUP = 0.99, 2.0
ONNX_COLD = """
import json, os, sys, time
started = time.perf_counter()
import functions.monitor.drift_check
imported = time.perf_counter()
from functions.drift import default_embedder
default_embedder().embed(["How do I bake bread?"])
done = time.perf_counter()
print(json.dumps({"import_s": imported - started, "first_embed_s": done - imported,
                  "torch_imported": "torch" in sys.modules}))
"""
TORCH_COLD = """
import json, sys, time
started = time.perf_counter()
from functions.drift.embedder import MiniLMEmbedder
import sentence_transformers
imported = time.perf_counter()
MiniLMEmbedder().embed(["How do I bake bread?"])
done = time.perf_counter()
print(json.dumps({"import_s": imported - started, "first_embed_s": done - imported}))
"""


def real_texts() -> list[str]:
    from driftgate.paths import data_dir

    files = sorted((data_dir() / "alpaca_eval").glob("*.jsonl")) + [data_dir() / "gsm8k" / "test.jsonl"]
    texts = []
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            texts += [record[field] for field in ("prompt", "output") if record.get(field)]
    return list(dict.fromkeys(texts))


def throughput(embedders: dict, texts: list[str], rounds: int) -> dict[str, float]:
    """Texts per CPU-second of each embedder (one thread each), best of ``rounds`` alternating runs."""
    for embedder in embedders.values():
        embedder.embed(texts[:8])  # loaded and warm before any round
    best = dict.fromkeys(embedders, math.inf)
    for _ in range(rounds):
        for name, embedder in embedders.items():
            started = time.process_time()
            embedder.embed(texts)
            best[name] = min(best[name], time.process_time() - started)
    return {name: len(texts) / seconds for name, seconds in best.items()}


class Lookup:
    """An embedder that answers from vectors computed already (text -> row)."""

    def __init__(self, name: str, texts: list[str], vectors: np.ndarray) -> None:
        self.name, self.rows = name, {text: vectors[i] for i, text in enumerate(texts)}

    def embed(self, texts):
        return np.stack([self.rows[text] for text in texts])


def drift_decisions(vectors: dict[str, Lookup], permutations: int) -> dict:
    """bench_drift's window pairs, decided on each embedder's vectors (ours: MMD + descriptors)."""
    from benchmarks.bench_drift import run_ours
    from benchmarks.drift_tasks import make_tasks

    decided, tasks = {}, []
    for name, lookup in vectors.items():
        sources = load_quietly(lookup)
        tasks = make_tasks([r["prompt_set"] for r in sources["prompts"]["records"]], [50, 100, 200], 300, 100, 0, 0)
        started = time.perf_counter()
        decided[name] = {i: drift for i, (drift, _) in run_ours(tasks, sources, permutations).items()}
        print(f"  {len(tasks)} window pairs decided on {name} vectors in {time.perf_counter() - started:.0f}s",
              flush=True)
    groups: dict[tuple, list[dict]] = {}
    for task in tasks:
        groups.setdefault((task["kind"], task["scenario"], task["n"]), []).append(task)
    groups[("far", "same distribution", "all")] = [t for t in tasks if t["kind"] == "far"]
    rows = []
    for (kind, scenario, n), members in groups.items():
        onnx, torch = (float(np.mean([decided[name][t["id"]] for t in members])) for name in ("onnx", "torch"))
        pooled = (onnx + torch) / 2
        error = 1.96 * math.sqrt(max(2 * pooled * (1 - pooled) / len(members), 0.0))
        rows.append(dict(kind=kind, scenario=scenario, n=n, runs=len(members), onnx=onnx, torch=torch,
                         differ=sum(decided["onnx"][t["id"]] != decided["torch"][t["id"]] for t in members),
                         within_error=abs(onnx - torch) <= error))
    return {"rows": rows, "differing_pairs": sum(decided["onnx"][i] != decided["torch"][i] for i in decided["onnx"]),
            "pairs": len(tasks), "all_within_error": all(r["within_error"] for r in rows)}


def load_quietly(lookup: Lookup) -> dict:
    from contextlib import redirect_stdout
    from io import StringIO

    from benchmarks.bench_drift import load_sources

    with redirect_stdout(StringIO()):
        return load_sources(lookup)


def cold_start(script: str, model_dir: Path) -> dict:
    """Best of 3 fresh processes (they run one after the other)."""
    from functions.common.contract import Settings

    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1",
           Settings.embedding_model_dir.name: str(model_dir)}
    env.pop(Settings.embedding_cache_dir.name, None)
    runs = [json.loads(subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True,
                                      text=True, check=True).stdout.strip().splitlines()[-1]) for _ in range(3)]
    return min(runs, key=lambda run: run["import_s"] + run["first_embed_s"])


def function_size() -> dict:
    """Unzipped bytes of the drift check's code asset and layers, bundled as the stack bundles them."""
    from infra.components.handler_function import (
        EMBEDDING_REQUIREMENTS,
        REPO_ROOT,
        _CopyFiles,
        _LayerInstall,
        _ModelExport,
        _WheelsInstall,
        code_files,
    )

    bundlers = {"code": _CopyFiles(root=REPO_ROOT, files=code_files()),
                "dependency_layer": _LayerInstall(root=REPO_ROOT),
                "embedder_runtime_layer": _WheelsInstall(root=REPO_ROOT, requirements=EMBEDDING_REQUIREMENTS),
                "embedding_model_layer": _ModelExport()}
    sizes = {}
    for name, bundler in bundlers.items():
        with tempfile.TemporaryDirectory() as out:
            bundler.try_bundle(out)
            sizes[name] = sum(p.stat().st_size for p in Path(out).rglob("*") if p.is_file() and not p.is_symlink())
    return {**sizes, "total": sum(sizes.values()), "limit": LAMBDA_LIMIT_BYTES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=384, help="texts in each throughput round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--permutations", type=int, default=500, help="for the drift decisions (bench_drift's)")
    parser.add_argument("--no-drift", action="store_true", help="skip the drift decisions (~4 min)")
    parser.add_argument("--no-size", action="store_true", help="skip bundling the layers (pip)")
    args = parser.parse_args(argv)

    import torch

    from driftgate.paths import embedding_cache, embedding_model
    from functions.drift import CachedEmbedder, MiniLMEmbedder, OnnxMiniLMEmbedder
    from functions.drift.onnx_embedder import SHORT_TOKENS

    torch.set_num_threads(1)
    texts = real_texts()
    model_dir = embedding_model()  # exported once per fingerprint
    onnx, reference = OnnxMiniLMEmbedder(model_dir, threads=1), MiniLMEmbedder()
    started = time.perf_counter()
    ours = onnx.embed(texts)  # never cached: what ships, measured now
    theirs = CachedEmbedder(reference, embedding_cache()).embed(texts)  # torch vectors, cached by text
    cosine = np.sum(ours * theirs, axis=1)
    lengths = np.array(onnx.token_counts(texts))
    short = lengths <= SHORT_TOKENS
    print(f"cosine ONNX vs torch over {len(texts)} texts: min {cosine.min():.4f}, mean {cosine.mean():.5f}, "
          f"below {MIN_COSINE}: {int((cosine < MIN_COSINE).sum())}; <= {SHORT_TOKENS} tokens ({short.sum()}): "
          f"min {cosine[short].min():.4f}; longer: min {cosine[~short].min():.4f} "
          f"({time.perf_counter() - started:.0f}s)", flush=True)

    picked = np.random.default_rng(0).choice(len(texts), min(args.sample, len(texts)), replace=False)
    sample = [texts[i] for i in picked]
    rates = throughput({"torch": reference, "onnx": onnx}, sample, args.rounds)
    ratio = rates["onnx"] / rates["torch"]
    print(f"throughput, one thread each, {len(sample)} texts: ONNX {rates['onnx']:.1f} texts/s, torch "
          f"{rates['torch']:.1f} texts/s (batch 32), ratio {ratio:.2f}x", flush=True)

    drift = None
    if not args.no_drift:
        print("drift decisions (bench_drift's window pairs) ...", flush=True)
        lookups = {"onnx": Lookup(onnx.name, texts, ours), "torch": Lookup(reference.name, texts, theirs)}
        drift = drift_decisions(lookups, args.permutations)
        for row in drift["rows"]:
            print(f"  {row['kind']:5s} {row['scenario'][:40]:40s} n={row['n']!s:>3s} runs={row['runs']:3d}  "
                  f"ONNX {row['onnx']:6.1%}  torch {row['torch']:6.1%}  differ {row['differ']:2d}  "
                  f"{'within' if row['within_error'] else 'OUTSIDE'} binomial error", flush=True)
        print(f"  {drift['differing_pairs']} of {drift['pairs']} decisions differ", flush=True)

    cold = {"onnx": cold_start(ONNX_COLD, model_dir), "torch": cold_start(TORCH_COLD, model_dir)}
    print(f"cold start (fresh process, best of 3): handler import {cold['onnx']['import_s']:.2f}s + first embed "
          f"{cold['onnx']['first_embed_s']:.2f}s (torch imported: {cold['onnx']['torch_imported']}); torch: import "
          f"{cold['torch']['import_s']:.2f}s + first embed {cold['torch']['first_embed_s']:.2f}s", flush=True)
    size = None if args.no_size else function_size()
    if size:
        parts = {k: v for k, v in size.items() if k not in ("total", "limit")}
        print("size unzipped: " + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in parts.items())
              + f"; total {size['total'] / 1e6:.1f} MB of {LAMBDA_LIMIT_BYTES / 1e6:.1f} MB")
    passed = bool(cosine.min() >= MIN_COSINE and ratio >= MIN_SPEEDUP and (drift is None or drift["all_within_error"])
                  and (size is None or size["total"] < LAMBDA_LIMIT_BYTES))
    print(json.dumps({
        "benchmark": "embeddings", "model": onnx.name, "texts": len(texts), "short_tokens": SHORT_TOKENS,
        "cosine_min": float(cosine.min()), "cosine_mean": float(cosine.mean()),
        "below_0_99": int((cosine < MIN_COSINE).sum()), "cosine_min_short": float(cosine[short].min()),
        "cosine_min_long": float(cosine[~short].min()), "throughput_texts_per_cpu_s": rates,
        "throughput_ratio": ratio, "drift": drift, "cold_start_s": cold, "size_bytes": size, "passed": passed,
    }))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
