"""Real agent-ops processes for tests: `serve` on an ephemeral loopback port, and `worker`."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

TEST_GRAPHS = Path(__file__).parent / "graphs" / "langgraph.json"
_LISTENING = re.compile(r"agent-ops listening on (http://\S+)")


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
