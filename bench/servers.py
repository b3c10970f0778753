"""Start the servers under test as subprocesses on free loopback ports, and always stop them.

Each server gets its own process group, so stopping it also ends whatever it spawned.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
CONFIG = BENCH_DIR / "langgraph.json"
SHIPPED_CONFIG = REPO_ROOT / "langgraph.json"  # the shipped graphs, invoice_approval among them
READY_TIMEOUT = 60.0
_RESERVED_PORTS = {2024}


@dataclass(frozen=True)
class Server:
    """A running server: its base URL and the pid of its process (a process-group leader)."""

    url: str
    pid: int


def free_port() -> int:
    """Return a free ephemeral TCP port on 127.0.0.1 (never one of the reserved ones)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in _RESERVED_PORTS:
            return port


def quiet_env(**extra: str) -> dict[str, str]:
    """Return this process's environment without LangSmith credentials, with tracing off."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LANGSMITH_", "LANGCHAIN_", "LANGGRAPH_", "AGENT_OPS_"))
    }
    env.update(
        LANGSMITH_TRACING="false",
        LANGCHAIN_TRACING_V2="false",
        LANGGRAPH_CLI_NO_ANALYTICS="1",
        DO_NOT_TRACK="1",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    env.update(extra)
    return env


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"server exited with code {proc.returncode} before {url}/ok answered; "
                f"last log lines of {log}:\n{_tail(log)}"
            )
        try:
            with urllib.request.urlopen(f"{url}/ok", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(
        f"{url}/ok did not answer 200 within {READY_TIMEOUT:.0f} s; "
        f"last log lines of {log}:\n{_tail(log)}"
    )


def _tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    # The server is a process-group leader (start_new_session), so this reaches its children too.
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


@contextmanager
def running(
    argv: list[str], *, env: dict[str, str], cwd: Path, port: int, log: Path
) -> Iterator[Server]:
    """Run `argv` until the context exits; yield it once `GET /ok` answers 200."""
    log.parent.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_ready(url, proc, log)
            yield Server(url, proc.pid)
        finally:
            _stop(proc)


@contextmanager
def agent_ops(
    database_url: str, log: Path, *, config: Path = CONFIG, env: Mapping[str, str] | None = None
) -> Iterator[Server]:
    """Run `python -m agent_ops serve` on `config`'s graphs (the bench's by default) against
    `database_url`, with `env` added to its environment."""
    port = free_port()
    argv = [sys.executable, "-m", "agent_ops", "serve", "--config", str(config)]
    argv += ["--host", "127.0.0.1", "--port", str(port)]
    environment = quiet_env(AGENT_OPS_DATABASE_URL=database_url, **(env or {}))
    with running(argv, env=environment, cwd=REPO_ROOT, port=port, log=log) as server:
        yield server


@contextmanager
def langgraph_dev(executable: Path, log: Path, jobs_per_worker: int | None) -> Iterator[Server]:
    """Run the official in-memory `langgraph dev` server on the bench graphs."""
    port = free_port()
    # langgraph dev resolves graph paths against its working directory, so start it in bench/.
    argv = [str(executable), "dev", "--config", CONFIG.name, "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--no-browser", "--no-reload"]
    if jobs_per_worker is not None:
        argv += ["--n-jobs-per-worker", str(jobs_per_worker)]
    with running(argv, env=quiet_env(), cwd=BENCH_DIR, port=port, log=log) as server:
        yield server
