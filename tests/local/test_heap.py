"""The top pad that keeps CPU training out of page faults (driftgate.heap) is set where glibc runs,
and a value the caller chose is left alone."""
from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from driftgate import heap

PROBE = "from driftgate.heap import keep_freed_memory; print(keep_freed_memory())"


def _probe(**extra: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_TOP_PAD_"} | extra
    return subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt's M_TOP_PAD is glibc's")
def test_the_top_pad_is_set_with_glibc() -> None:
    assert _probe() == "True"


def test_a_value_the_caller_chose_wins() -> None:
    assert _probe(MALLOC_TOP_PAD_="0") == "False"
    assert heap.ENVIRONMENT == {"MALLOC_TOP_PAD_": str(1 << 30)}
