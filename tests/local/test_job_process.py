"""A local job's process, forked from the preloaded interpreter or fresh: the same contract either
way (environment, working directory, argv, sys.path, output, exit status, signals)."""
from __future__ import annotations

import json
import signal
import textwrap
from pathlib import Path

import pytest

from driftgate import job_process

PROGRAM = textwrap.dedent("""
    import json, os, sys
    print(json.dumps({
        "marker": os.environ.get("JOB_MARKER"), "leaked": os.environ.get("NOT_FOR_THE_JOB"),
        "cwd": os.getcwd(), "argv": sys.argv, "path0": sys.path[0],
        "extra_on_path": os.environ["PYTHONPATH"] in sys.path, "finetune_loaded": "finetune.train" in sys.modules,
        "torch_loaded": "torch" in sys.modules,
    }))
    print("to stderr", file=sys.stderr)
    sys.exit(int(os.environ.get("JOB_EXIT", "0")))
""")


def run(tmp_path: Path, source: str, env: dict[str, str]) -> tuple[int | None, str, str]:
    program = tmp_path / "prog" / "job.py"
    program.parent.mkdir(exist_ok=True)
    program.write_text(source)
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    status = job_process.start(program, env, tmp_path, out, err).wait(120)
    return status, out.read_text(), err.read_text()


@pytest.fixture(params=["fresh", "preloaded"])
def mode(request, monkeypatch) -> str:
    monkeypatch.setenv(job_process.MODE_VARIABLE, request.param)
    monkeypatch.setenv("NOT_FOR_THE_JOB", "parent only")
    return request.param


def test_a_job_sees_only_its_own_environment_directory_and_argv(tmp_path, mode) -> None:
    extra = str(tmp_path / "lib")
    status, out, err = run(tmp_path, PROGRAM, {"JOB_MARKER": "m1", "JOB_EXIT": "3", "PYTHONPATH": extra})
    seen = json.loads(out)
    assert status == 3 and err.strip() == "to stderr"
    assert seen["marker"] == "m1" and seen["leaked"] is None
    assert seen["cwd"] == str(tmp_path) and seen["argv"] == [str(tmp_path / "prog" / "job.py")]
    assert seen["path0"] == str(tmp_path / "prog") and seen["extra_on_path"]
    assert seen["finetune_loaded"] is False  # our own modules always load from disk in the job
    assert seen["torch_loaded"] is (mode == "preloaded")  # what the fork saves: the libraries' import


def test_an_uncaught_exception_is_status_1_with_its_traceback(tmp_path, mode) -> None:
    status, _, err = run(tmp_path, "raise ValueError('bad record on line 3')\n", {})
    assert status == 1 and "ValueError: bad record on line 3" in err and "Traceback" in err


def test_a_killed_job_reports_the_signal(tmp_path, mode) -> None:
    program = tmp_path / "sleep.py"
    program.write_text("import time\ntime.sleep(60)\n")
    process = job_process.start(program, {}, tmp_path, tmp_path / "out", tmp_path / "err")
    assert process.wait(0.5) is None  # still running
    process.kill()
    assert process.wait(30) == -signal.SIGKILL


def test_jobs_run_side_by_side_and_each_reports_its_own_status(tmp_path, mode) -> None:
    program = tmp_path / "exit_with.py"
    program.write_text("import os, sys, time\ntime.sleep(0.3)\nsys.exit(int(os.environ['CODE']))\n")
    jobs = [job_process.start(program, {"CODE": str(code)}, tmp_path, tmp_path / f"o{code}", tmp_path / f"e{code}")
            for code in (0, 4, 7)]
    assert [job.wait(60) for job in jobs] == [0, 4, 7]


def test_jobs_fork_by_default_and_an_unknown_mode_is_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(job_process.MODE_VARIABLE, raising=False)
    assert job_process.preloaded()  # what the local stack's jobs get unless told otherwise
    monkeypatch.setenv(job_process.MODE_VARIABLE, "threads")
    with pytest.raises(ValueError, match="'preloaded' or 'fresh'"):
        job_process.start(tmp_path / "job.py", {}, tmp_path, tmp_path / "out", tmp_path / "err")
