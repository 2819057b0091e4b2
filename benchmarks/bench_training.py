"""Training throughput: a LoRA step against a full fine-tune step of the same model, side by side.

    .venv/bin/python benchmarks/bench_training.py                 # tiny model, CPU; last line is JSON
    .venv/bin/python benchmarks/bench_training.py --device cuda --size 0.5b --peak-tflops 989

Both models start from the same random init of the same config (the tiny Llama-shaped base of
``finetune.base_model``, or a ~0.5B Qwen2-shaped model built from config, never downloaded) and
train on the same batches of real text (GSM8K, MiniLM-tokenised, packed to ``--seq-len``). Steps
alternate between the two so that a busy shared machine slows both alike; each figure is the
median over the timed steps. The LoRA adapter is the one ``finetune.train`` builds by default
(r=16 on every attention and MLP projection).

On CUDA the models run in bf16 and the report adds model-FLOPs utilisation,
``6 * N * tokens/s / peak`` with N the parameter count (tied embeddings counted once). 6N is the
full fine-tune's cost per token; a LoRA step skips the frozen weights' gradients (about 4N), so
its 6N-MFU overstates the work done and is reported as "equivalent" MFU, the usual convention
for comparing against full fine-tuning.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # runnable as a plain script

# A Qwen2-0.5B-shaped config (494M parameters), built from config only.
QWEN2_0_5B = {
    "vocab_size": 151936,
    "hidden_size": 896,
    "intermediate_size": 4864,
    "num_hidden_layers": 24,
    "num_attention_heads": 14,
    "num_key_value_heads": 2,
    "max_position_embeddings": 32768,
    "tie_word_embeddings": True,
    "rope_theta": 1000000.0,
}
# Dense bf16 peak TFLOP/s by device name, for MFU when --peak-tflops is not given.
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10G": 125.0, "L4": 121.0}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--size", default="tiny", choices=["tiny", "0.5b"], help="0.5b needs --device cuda")
    parser.add_argument("--steps", type=int, default=6, help="timed steps per mode")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per mode first")
    parser.add_argument("--batch-size", type=int, default=None, help="default 8 (tiny) / 8 (0.5b)")
    parser.add_argument("--seq-len", type=int, default=None, help="default 128 (tiny) / 1024 (0.5b)")
    parser.add_argument("--lora-r", type=int, default=16)
    parser.add_argument("--peak-tflops", type=float, default=None, help="device peak for MFU (cuda only)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup < 0:
        parser.error("--steps must be >= 1 and --warmup >= 0")
    if args.size == "0.5b" and args.device != "cuda":
        parser.error("--size 0.5b needs --device cuda (a CPU step of a 0.5B model takes minutes)")
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            parser.error("--device cuda: no CUDA device is available on this machine")
    args.batch_size = args.batch_size or 8
    args.seq_len = args.seq_len or (128 if args.size == "tiny" else 1024)
    return args


def packed_batches(tokenizer, batch_size: int, seq_len: int, count: int):
    """``count`` batches of real text, packed so that every position is a real token."""
    import torch

    from driftgate.paths import data_dir
    from finetune.formatting import encode_example, read_jsonl

    needed = batch_size * seq_len * count
    stream: list[int] = []
    for record in read_jsonl(data_dir() / "gsm8k" / "test.jsonl"):
        stream += encode_example(tokenizer, record["prompt"], record["reference"], 512)["input_ids"]
        if len(stream) >= needed:
            break
    while len(stream) < needed:  # tiny corpora: wrap around
        stream += stream
    tokens = torch.tensor(stream[:needed]).view(count, batch_size, seq_len)
    return [tokens[i] for i in range(count)]


def build_models(args: argparse.Namespace, tokenizer):
    import torch
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM, Qwen2Config

    from finetune.base_model import tiny_config
    from finetune.train import ModelArguments, build_lora_config

    device = torch.device(args.device)
    dtype = torch.bfloat16 if args.device == "cuda" else torch.float32
    config = tiny_config(tokenizer) if args.size == "tiny" else Qwen2Config(**QWEN2_0_5B)

    def fresh():
        torch.manual_seed(args.seed)
        return AutoModelForCausalLM.from_config(config).to(device=device, dtype=dtype)

    full = fresh()
    lora = get_peft_model(fresh(), build_lora_config(ModelArguments(lora_r=args.lora_r, lora_alpha=2 * args.lora_r),
                                                     config.model_type))
    fused = args.device == "cuda"
    optimizers = {
        "full": torch.optim.AdamW(full.parameters(), lr=1e-5, fused=fused),
        "lora": torch.optim.AdamW([p for p in lora.parameters() if p.requires_grad], lr=2e-4, fused=fused),
    }
    return {"full": full, "lora": lora}, optimizers, dtype


def main(argv: list[str] | None = None) -> dict:
    import torch

    from finetune.base_model import load_minilm_tokenizer

    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    tokenizer = load_minilm_tokenizer()
    models, optimizers, dtype = build_models(args, tokenizer)
    rounds = args.warmup + args.steps
    batches = packed_batches(tokenizer, args.batch_size, args.seq_len, rounds)
    device = torch.device(args.device)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    def step(mode: str, tokens) -> float:
        model, optimizer = models[mode], optimizers[mode]
        tokens = tokens.to(device)
        sync()
        started = time.perf_counter()
        loss = model(input_ids=tokens, labels=tokens).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        sync()
        return time.perf_counter() - started

    for model in models.values():
        model.train()
    times: dict[str, list[float]] = {"lora": [], "full": []}
    for i, tokens in enumerate(batches):
        order = ("lora", "full") if i % 2 == 0 else ("full", "lora")  # neither always goes first
        for mode in order:
            elapsed = step(mode, tokens)
            if i >= args.warmup:
                times[mode].append(elapsed)

    tokens_per_step = args.batch_size * args.seq_len
    per_s = {mode: tokens_per_step / statistics.median(t) for mode, t in times.items()}
    params = sum(p.numel() for p in models["full"].parameters())
    trainable = sum(p.numel() for p in models["lora"].parameters() if p.requires_grad)
    peak = args.peak_tflops
    device_name = torch.cuda.get_device_name() if device.type == "cuda" else "cpu"
    if peak is None and device.type == "cuda":
        peak = next((v for k, v in PEAK_BF16_TFLOPS.items() if k in device_name), None)
    mfu = ({mode: round(6 * params * rate / (peak * 1e12), 4) for mode, rate in per_s.items()}
           if device.type == "cuda" and peak else None)
    report = {
        "bench": "training",
        "device": device_name,
        "size": args.size,
        "dtype": str(dtype).replace("torch.", ""),
        "params": params,
        "lora_trainable_params": trainable,
        "batch_size": args.batch_size,
        "seq_len": args.seq_len,
        "timed_steps": args.steps,
        "torch_threads": torch.get_num_threads(),
        "lora_tokens_per_s": round(per_s["lora"], 1),
        "full_tokens_per_s": round(per_s["full"], 1),
        "lora_over_full": round(per_s["lora"] / per_s["full"], 3),
        "peak_tflops": peak,
        "mfu_6n": mfu,
    }
    if device.type == "cuda":
        report["max_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    return report


if __name__ == "__main__":
    print(json.dumps(main()))
