"""The training benchmark runs (a few steps) and guards its CUDA-only options."""
from __future__ import annotations

import pytest

from benchmarks import bench_training


@pytest.mark.slow
def test_lora_vs_full_throughput_report() -> None:
    report = bench_training.main(["--steps", "1", "--warmup", "0", "--batch-size", "2", "--seq-len", "32"])
    assert report["lora_tokens_per_s"] > 0 and report["full_tokens_per_s"] > 0
    ratio = report["lora_tokens_per_s"] / report["full_tokens_per_s"]
    assert report["lora_over_full"] == pytest.approx(ratio, rel=1e-2)
    assert 0 < report["lora_trainable_params"] < report["params"] / 10
    assert report["mfu_6n"] is None  # CPU: no peak to compare with


def test_cuda_only_options_are_guarded(capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    with pytest.raises(SystemExit) as exit_info:
        bench_training.parse_args(["--size", "0.5b"])
    assert exit_info.value.code == 2 and "--size 0.5b needs --device cuda" in capsys.readouterr().err
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit):
            bench_training.parse_args(["--device", "cuda"])
        assert "no CUDA device" in capsys.readouterr().err
