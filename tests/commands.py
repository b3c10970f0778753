"""`agent-ops` commands (`keys`, `audit`, ...) as tests run them: each in a process of its own,
forked from one that has already imported `agent_ops.cli`.

A fresh `python -m agent_ops` spends about two seconds importing before it reads its arguments,
and the governance tests run hundreds of commands. The fork runs the same `main()` with the same
argument list, environment and working directory, in a new process with its own exit code and
output, so each command still starts from nothing of the one before; only the imports are
shared. Starting the command the ordinary way is still tested where that is the point
(`tests/test_cli.py`, every server the tests start).
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO

__all__ = ["run_command"]

# The forking process: reads one request per line (argv, env, cwd, the two output files), forks,
# and answers with two lines: the child's pid at once, its exit code once it has ended.
_FORKER = r"""
import json, os, sys, traceback
import agent_ops.cli

def child(request):
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, fd)
        os.close(out)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.argv = ["agent-ops", *request["argv"]]
    try:
        code = agent_ops.cli.main(request["argv"])
    except SystemExit as exc:  # argparse's exit, as `python -m` would end
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    import logging
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        child(request)
    sys.__stdout__.write(json.dumps({"pid": pid}) + "\n")
    sys.__stdout__.flush()
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    sys.__stdout__.write(json.dumps({"code": code}) + "\n")
    sys.__stdout__.flush()
"""

_lock = threading.Lock()
_forker: tuple[subprocess.Popen[str], queue.Queue[str]] | None = None


def _started() -> tuple[subprocess.Popen[str], queue.Queue[str]]:
    """The forking process and the queue its answer lines arrive in (started on first use)."""
    global _forker
    if _forker is None or _forker[0].poll() is not None:
        forker = subprocess.Popen(
            [sys.executable, "-c", _FORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        atexit.register(forker.kill)
        lines: queue.Queue[str] = queue.Queue()
        assert forker.stdout is not None
        threading.Thread(target=_read, args=(forker.stdout, lines), daemon=True).start()
        _forker = forker, lines
    return _forker


def _read(stream: IO[str], lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)
    lines.put("")  # the forker ended


def run_command(
    *args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `agent-ops *args` with exactly `env` in `cwd` (default: the current directory), like
    `subprocess.run` with `capture_output=True, text=True`; one still running after `timeout`
    is killed."""
    with _lock, tempfile.TemporaryDirectory(prefix="agent-ops-command-") as folder:
        out, err = Path(folder) / "stdout", Path(folder) / "stderr"
        request = {"argv": list(args), "env": env, "cwd": str(cwd or os.getcwd())}
        forker, lines = _started()
        assert forker.stdin is not None
        forker.stdin.write(json.dumps({**request, "stdout": str(out), "stderr": str(err)}) + "\n")
        forker.stdin.flush()
        pid = _answer(lines, 30)["pid"]
        try:
            code = _answer(lines, timeout)["code"]
        except subprocess.TimeoutExpired:
            os.kill(pid, signal.SIGKILL)
            _answer(lines, 30)
            raise
        return subprocess.CompletedProcess(
            ["agent-ops", *args], code, out.read_text(), err.read_text()
        )


def _answer(lines: queue.Queue[str], timeout: float) -> dict[str, int]:
    """The forker's next answer, or TimeoutExpired when none comes within `timeout` seconds."""
    try:
        line = lines.get(timeout=timeout)
    except queue.Empty:
        raise subprocess.TimeoutExpired(["agent-ops"], timeout) from None
    if not line:
        raise RuntimeError("the process forking agent-ops commands ended")
    answer: dict[str, int] = json.loads(line)
    return answer
