"""The drift check's ONNX embedder against sentence-transformers on torch (fp32), on the real texts.

    .venv/bin/python -m benchmarks.bench_embeddings [--limit N] [--sample N] [--rounds N]

Prints the cosine similarity of each text's two vectors (min, mean; every prompt and output of
alpaca_eval/*.jsonl and gsm8k, deduplicated), the throughput ratio ONNX/torch at one thread each
(same texts, same batch size, alternating rounds in one run, best round each, CPU seconds), the
cold start (import of the handler module + first embed, in a fresh process), the drift function's
unzipped size (code + its layers, bundled here as `cdk synth` does) against Lambda's 250 MB, and a
final JSON line.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch or ONNX Runtime start their pools
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
LAMBDA_LIMIT_BYTES = 262_144_000  # 250 MB unzipped, function code and layers together
BATCH = 32
COLD_START = """
import json, sys, time
started = time.perf_counter()
import functions.monitor.drift_check
from functions.drift.onnx_embedder import OnnxMiniLMEmbedder
imported = time.perf_counter()
OnnxMiniLMEmbedder(sys.argv[1]).embed(["How do I bake bread?"])
done = time.perf_counter()
print(json.dumps({"import_s": imported - started, "first_embed_s": done - imported, "total_s": done - started,
                  "torch_imported": "torch" in sys.modules}))
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


def throughput(onnx, torch_model, texts: list[str], rounds: int) -> tuple[float, float]:
    """Texts per CPU-second (one thread each), best of ``rounds`` alternating runs."""
    best = {"onnx": float("inf"), "torch": float("inf")}
    for _ in range(rounds):
        for name, model in (("torch", torch_model), ("onnx", onnx)):
            started = time.process_time()
            model.embed(texts)
            best[name] = min(best[name], time.process_time() - started)
    return len(texts) / best["onnx"], len(texts) / best["torch"]


def cold_start(model_dir: Path) -> dict:
    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run([sys.executable, "-c", COLD_START, str(model_dir)], cwd=REPO, env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def function_size(model_dir: Path) -> dict:
    """Bytes of the drift function's code asset and layers, bundled as the stack bundles them."""
    from infra.components.handler_function import DRIFT_LAYER, _LayerInstall, code_files

    with tempfile.TemporaryDirectory() as out:
        _LayerInstall(root=REPO, spec=DRIFT_LAYER).try_bundle(out)
        layer = sum(p.stat().st_size for p in Path(out).rglob("*") if p.is_file() and not p.is_symlink())
    sizes = {"code": sum(p.stat().st_size for p in code_files()), "dependency_layer": layer,
             "model_layer": sum(p.stat().st_size for p in model_dir.iterdir())}
    return {**sizes, "total": sum(sizes.values()), "limit": LAMBDA_LIMIT_BYTES}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="compare only the first N texts (default: all)")
    parser.add_argument("--sample", type=int, default=256, help="texts in each throughput round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-size", action="store_true", help="skip bundling the layer (pip)")
    args = parser.parse_args(argv)

    import torch

    from driftgate.paths import embedding_cache
    from functions.drift.embedder import CachedEmbedder, MiniLMEmbedder
    from functions.drift.onnx_embedder import OnnxMiniLMEmbedder, model_dir

    torch.set_num_threads(1)
    texts = real_texts()[: args.limit]
    directory = model_dir()  # exports once per fingerprint (cached)
    onnx, reference = OnnxMiniLMEmbedder(directory, batch_size=BATCH, threads=1), MiniLMEmbedder(batch_size=BATCH)
    started = time.perf_counter()
    ours = onnx.embed(texts)  # never cached: what ships, measured now
    theirs = CachedEmbedder(reference, embedding_cache()).embed(texts)  # torch vectors, cached by text
    cosine = np.sum(ours * theirs, axis=1)
    print(f"cosine ONNX vs torch over {len(texts)} texts: min {cosine.min():.4f}, mean {cosine.mean():.5f}, "
          f"below 0.99: {int((cosine < 0.99).sum())} ({time.perf_counter() - started:.0f}s)", flush=True)

    sample = [texts[i] for i in np.random.default_rng(0).choice(len(texts), min(args.sample, len(texts)),
                                                                replace=False)]
    onnx_rate, torch_rate = throughput(onnx, reference, sample, args.rounds)
    print(f"throughput, one thread, batch {BATCH}: ONNX {onnx_rate:.1f} texts/s, torch {torch_rate:.1f} texts/s, "
          f"ratio {onnx_rate / torch_rate:.2f}x", flush=True)
    cold = cold_start(directory)
    print(f"cold start: handler import {cold['import_s']:.2f}s + first embed {cold['first_embed_s']:.2f}s "
          f"= {cold['total_s']:.2f}s (torch imported: {cold['torch_imported']})", flush=True)
    size = None if args.no_size else function_size(directory)
    if size:
        print(f"size unzipped: code {size['code'] / 1e6:.1f} MB + dependency layer {size['dependency_layer'] / 1e6:.1f}"
              f" MB + model {size['model_layer'] / 1e6:.1f} MB = {size['total'] / 1e6:.1f} MB"
              f" (limit {LAMBDA_LIMIT_BYTES / 1e6:.1f} MB)")
    summary = {
        "benchmark": "embeddings", "model": onnx.name, "texts": len(texts), "batch_size": BATCH,
        "cosine_min": float(cosine.min()), "cosine_mean": float(cosine.mean()),
        "below_0_99": int((cosine < 0.99).sum()),
        "throughput_texts_per_cpu_s": {"onnx": onnx_rate, "torch": torch_rate},
        "throughput_ratio": onnx_rate / torch_rate, "cold_start_s": cold, "size_bytes": size,
    }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
