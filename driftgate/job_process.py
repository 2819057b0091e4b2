"""The process a local SageMaker-contract job runs in: a fork of an interpreter that has already
imported the training libraries, or (``DRIFTGATE_LOCAL_JOBS=fresh``) a new interpreter per job.

A job's process spends about 10 s importing torch, transformers, peft and trl before it reads a
record (``python -X importtime -c "import finetune.train"``: 9.3 s on this machine), and a
pipeline run starts two or three jobs. A small fork server (``python -m driftgate.job_process``,
one per driftgate process, started at the first job) imports them once; each job is a fork of it
that then becomes ``python PROGRAM``: its own environment, working directory, argv, ``sys.path``,
stdin, stdout and stderr, exit status and signals. Our own modules are never preloaded, so a job
runs the code on disk. The server is single-threaded (a fork copies no other thread's locks) and
ends when its client does (end of file on its requests). The cost meter
(``benchmarks/cost_meter.py``) measures with fresh processes: a SageMaker container pays the
imports too.

Protocol, one JSON object per line: the client writes ``{"id", "program", "env", "cwd",
"stdout", "stderr"}``; the server answers ``{"id", "pid"}`` when it forked and ``{"pid",
"status"}`` when that job ended (the status as ``subprocess`` gives it: negative for a signal).
"""
from __future__ import annotations

import importlib
import itertools
import json
import os
import runpy
import select
import signal
import subprocess
import sys
import threading
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Protocol

MODE_VARIABLE = "DRIFTGATE_LOCAL_JOBS"  # "preloaded" (the default) or "fresh"
PRELOAD = ("torch", "transformers", "peft", "trl")
_POLL_S = 0.05  # how often the server looks for ended jobs while some run


class JobProcess(Protocol):
    def kill(self) -> None: ...

    def wait(self, timeout: float) -> int | None:
        """The exit status (negative: killed by that signal), or None if still running."""


def preloaded() -> bool:
    mode = os.environ.get(MODE_VARIABLE, "preloaded")
    if mode not in ("preloaded", "fresh"):
        raise ValueError(f"{MODE_VARIABLE} must be 'preloaded' or 'fresh', not {mode!r}")
    return mode == "preloaded"


def start(program: Path, env: Mapping[str, str], cwd: Path, stdout: Path, stderr: Path,
          server_env: Mapping[str, str] | None = None) -> JobProcess:
    """Run ``python PROGRAM`` with ``env`` in ``cwd``, its output to the two files. The fork server,
    if this starts it, gets ``server_env`` (default: this process's): the libraries it preloads
    read some variables once, at import (the Hugging Face offline switches, OpenMP's thread count,
    glibc's malloc settings)."""
    if not preloaded():
        with stdout.open("w") as out, stderr.open("w") as err:
            return _Fresh(subprocess.Popen([sys.executable, str(program)], cwd=cwd, env=dict(env),
                                           stdin=subprocess.DEVNULL, stdout=out, stderr=err))
    return _server(server_env).start({"program": str(program), "env": dict(env), "cwd": str(cwd),
                                      "stdout": str(stdout), "stderr": str(stderr)})


class _Fresh:
    def __init__(self, process: subprocess.Popen) -> None:
        self._process = process

    def kill(self) -> None:
        self._process.kill()

    def wait(self, timeout: float) -> int | None:
        try:
            return self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None


class _Forked:
    def __init__(self, pid: int, ended: threading.Event, statuses: dict[int, int]) -> None:
        self.pid, self._ended, self._statuses = pid, ended, statuses

    def kill(self) -> None:
        if not self._ended.is_set():
            os.kill(self.pid, signal.SIGKILL)

    def wait(self, timeout: float) -> int | None:
        return self._statuses[self.pid] if self._ended.wait(timeout) else None


class _Client:
    """This process's end of the fork server: writes requests, a reader thread files the answers."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._process = subprocess.Popen([sys.executable, "-m", __name__], env=dict(env), stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE)
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._forked: dict[int, tuple[threading.Event, list[int]]] = {}  # request id -> (forked, [pid])
        self._ended: dict[int, threading.Event] = {}  # pid -> ended
        self._statuses: dict[int, int] = {}
        threading.Thread(target=self._read, args=(self._process.stdout,), daemon=True, name="job-server").start()

    def start(self, request: dict[str, Any]) -> _Forked:
        forked, pid = threading.Event(), []
        with self._lock:
            request_id = next(self._ids)
            self._forked[request_id] = (forked, pid)
            assert self._process.stdin is not None
            self._process.stdin.write((json.dumps({"id": request_id, **request}) + "\n").encode())
            self._process.stdin.flush()
        if not forked.wait(60) or not pid:
            raise RuntimeError(f"the job server did not start {request['program']} (exit {self._process.poll()})")
        return _Forked(pid[0], self._ended[pid[0]], self._statuses)

    def _read(self, answers: IO[bytes]) -> None:
        for line in answers:
            answer = json.loads(line)
            with self._lock:
                if "id" in answer:
                    self._ended[answer["pid"]] = threading.Event()
                    forked, pid = self._forked.pop(answer["id"])
                    pid.append(answer["pid"])
                    forked.set()
                else:
                    self._statuses[answer["pid"]] = answer["status"]
                    self._ended[answer["pid"]].set()
        with self._lock:  # the server is gone: nothing it started can be waited for any more
            for forked, _ in self._forked.values():
                forked.set()
            for pid, ended in self._ended.items():
                self._statuses.setdefault(pid, -signal.SIGKILL)
                ended.set()


_CLIENT: _Client | None = None
_CLIENT_LOCK = threading.Lock()


def _server(env: Mapping[str, str] | None) -> _Client:
    global _CLIENT
    with _CLIENT_LOCK:
        if _CLIENT is None or _CLIENT._process.poll() is not None:
            _CLIENT = _Client(os.environ if env is None else env)
        return _CLIENT


# --------------------------------------------------------------------------- the server's side


def serve(requests: int = 0, answers: int = 1) -> None:
    """Preload, then fork one child per request until the requests end."""
    if sys.path and sys.path[0] in ("", os.getcwd()):  # `-m` put the client's directory first; a job
        sys.path.pop(0)  # run as `python PROGRAM` would not have it
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:  # a job that needs it will say so itself
            pass
    pending, running = b"", set()
    while True:
        ready, _, _ = select.select([requests], [], [], _POLL_S if running else None)
        if ready:
            chunk = os.read(requests, 1 << 16)
            if not chunk:
                return  # the client is gone; running jobs finish on their own
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    _become(request)  # never returns
                running.add(pid)
                _answer(answers, {"id": request["id"], "pid": pid})
        for pid in list(running):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                running.discard(pid)
                _answer(answers, {"pid": pid, "status": os.waitstatus_to_exitcode(status)})


def _answer(fd: int, message: dict[str, Any]) -> None:
    os.write(fd, (json.dumps(message) + "\n").encode())  # one write, shorter than PIPE_BUF: atomic


def _become(request: dict[str, Any]) -> None:
    """In the forked child: become ``python PROGRAM`` and exit with its status."""
    code = 1
    try:
        program, env = request["program"], request["env"]
        os.environ.clear()
        os.environ.update(env)
        os.chdir(request["cwd"])
        for fd, path, flags in ((0, os.devnull, os.O_RDONLY),
                                (1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                                (2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
            target = os.open(path, flags, 0o644)
            os.dup2(target, fd)
            os.close(target)
        # New stream objects: the server's carry its buffers and locks.
        sys.stdin, sys.stdout = open(0, closefd=False), open(1, "w", closefd=False)
        sys.stderr = open(2, "w", buffering=1, closefd=False)
        # What the interpreter would have put first on sys.path for `python PROGRAM`.
        sys.path[:0] = [str(Path(program).parent), *(p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p)]
        sys.argv = [program]
        threads = env.get("OMP_NUM_THREADS", "")
        if threads.isdigit() and int(threads) > 0 and "torch" in sys.modules:  # OpenMP read the server's
            sys.modules["torch"].set_num_threads(int(threads))
        code = 0
        runpy.run_path(program, run_name="__main__")
    except SystemExit as exit_:
        if exit_.code is None or isinstance(exit_.code, int):
            code = exit_.code or 0
        else:  # sys.exit("message"), as the interpreter does it
            print(exit_.code, file=sys.stderr)
            code = 1
    except BaseException:  # an uncaught exception, as the interpreter reports it
        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)


if __name__ == "__main__":
    serve()
