"""The benchmark script stays runnable and ``run_pack`` stays callable (the lead builds on it)."""
from __future__ import annotations

import importlib.util
import json

from driftgate.paths import REPO_ROOT
from tests.scoring.realdata import GPT4, alpaca

_spec = importlib.util.spec_from_file_location("bench_scoring", REPO_ROOT / "benchmarks" / "bench_scoring.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_run_pack_returns_a_rate() -> None:
    records = alpaca(GPT4)[:20]
    assert bench.run_pack(records) > 0
    assert bench.run_pack(records, with_reference=False) > 0


def test_main_prints_a_json_line_with_the_numbers(capsys) -> None:
    result = bench.main(["--every", "200"])  # 5 instructions x 5 generators
    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last_line) == json.loads(json.dumps(result))
    assert result["records"] == 25 and result["records_per_s_per_core"] > 0
    assert result["pack_vs_rouge_score_rouge_l"] > 0
    assert set(result["generators"]) >= {GPT4, "alpaca-7b"}
