"""Real agent-ops processes for tests: `serve` on an ephemeral loopback port, and `worker`; and
the one way a fixture makes a server of its own on a fresh database of each backend."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import pytest

TEST_GRAPHS = Path(__file__).parent / "graphs" / "langgraph.json"
_LISTENING = re.compile(r"agent-ops listening on (http://\S+)")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


class AgentOpsProcess:
    """One `agent-ops serve` or `agent-ops worker` subprocess with its log in a file."""

    def __init__(
        self,
        database_url: str,
        log_dir: Path,
        *,
        command: str = "serve",
        config: Path = TEST_GRAPHS,
        env: dict[str, str] | None = None,
        name: str = "server",
    ) -> None:
        self.database_url = database_url
        self.command = command
        self.config = config
        self.extra_env = env or {}
        self.log_path = log_dir / f"{name}.log"
        self.url: str | None = None
        self.proc: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 60.0) -> AgentOpsProcess:
        env = {
            **os.environ,
            "AGENT_OPS_LOG_LEVEL": "INFO",
            **self.extra_env,
        }
        if self.database_url:  # empty: the server's own default (the demo's database)
            env["AGENT_OPS_DATABASE_URL"] = self.database_url
        args = [sys.executable, "-m", "agent_ops", self.command, "--config", str(self.config)]
        if self.command == "serve":
            args += ["--host", "127.0.0.1", "--port", "0"]
        log = self.log_path.open("a")
        self.proc = subprocess.Popen(
            args, env=env, stdout=subprocess.PIPE, stderr=log, text=True, cwd=self.config.parent
        )
        deadline = time.monotonic() + timeout
        if self.command == "serve":
            assert self.proc.stdout is not None
            while time.monotonic() < deadline:
                line = self.proc.stdout.readline()
                if not line:
                    break
                if match := _LISTENING.search(line):
                    self.url = match.group(1)
                    return self
            raise RuntimeError(f"agent-ops serve did not start; log:\n{self.log()}")
        while time.monotonic() < deadline:
            if "worker running" in self.log():
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"agent-ops worker did not start; log:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: the process dies at once, holding whatever leases it had."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM and wait: a graceful shutdown."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.terminate(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


def fresh_database(request: pytest.FixtureRequest | None, folder: Path, prefix: str) -> str:
    """A new database on the backend the fixture is parametrised with (none: SQLite): its URL."""
    if request is not None and request.param == "postgres":
        cluster = request.getfixturevalue("pg_cluster")
        url: str = cluster.create_database(f"{prefix}_{uuid.uuid4().hex}")
        return url
    return f"sqlite:///{folder}/agent-ops.db"


def new_server(
    factory: pytest.TempPathFactory,
    name: str,
    env: dict[str, str],
    *,
    request: pytest.FixtureRequest | None = None,
    config: Path = TEST_GRAPHS,
) -> AgentOpsProcess:
    """A server not yet started, in a folder of its own on a fresh database of the backend
    `request` is parametrised with (none: SQLite); its workers poll every half second unless
    `env` says otherwise."""
    if request is not None:
        name = f"{name}-{request.param}"
    folder = factory.mktemp(name)
    return AgentOpsProcess(
        fresh_database(request, folder, name.replace("-", "_")),
        folder,
        config=config,
        env={"AGENT_OPS_POLL_SECONDS": "0.5", **env},
        name=name,
    )


@contextmanager
def serving(server: AgentOpsProcess) -> Iterator[AgentOpsProcess]:
    """Start `server` and stop it afterwards; AGENT_OPS_SHOW_SERVER_LOG=1 prints its log then."""
    server.start()
    try:
        yield server
    finally:
        server.stop()
        if os.environ.get("AGENT_OPS_SHOW_SERVER_LOG"):
            print(server.log())


def server_per_backend(
    name: str,
    env: dict[str, str],
    *,
    scope: Literal["session", "package", "module"] = "session",
) -> Any:
    """A fixture: a server called `name` with `env` on a fresh database of each backend, started
    once per `scope` and stopped after it."""

    @pytest.fixture(scope=scope, params=BACKENDS)
    def server(
        request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[AgentOpsProcess]:
        with serving(new_server(tmp_path_factory, name, env, request=request)) as started:
            yield started

    return server
