"""The replay cache: model answers recorded on disk, keyed by a hash of the request, so a re-run
(an evaluation, CI) reproduces the same answers offline and deterministically.

The key is sha256 of the canonical JSON of what decides an answer: the provider spec and model
name, the messages (types, contents, tool calls), the tools offered with their argument schemas,
the forced tool, the structured-output schema, and the sampling options (temperature,
max_tokens). One JSON file per key holds the answer and its token numbers.

Modes: `record` answers from the cache and asks the provider only on a miss (then records);
`refresh` always asks and overwrites; `replay` never asks: a miss is `ModelUnavailable` naming
the key, so an offline re-run fails loudly instead of quietly reaching a model.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, messages_from_dict, messages_to_dict
from langchain_core.tools import BaseTool
from pydantic import BaseModel

from agent_ops.errors import ConfigError, ModelUnavailable
from agent_ops.models.decisions import TokenUsage
from agent_ops.models.providers import Call, Provider

__all__ = ["REPLAY_MODES", "ReplayCache", "ReplayMode", "ReplayProvider", "request_key"]

ReplayMode = Literal["record", "refresh", "replay"]
REPLAY_MODES: tuple[ReplayMode, ...] = ("record", "refresh", "replay")


def _tool_view(tool: BaseTool | dict[str, Any]) -> Any:
    if isinstance(tool, BaseTool):
        schema = tool.args_schema
        args = (
            schema.model_json_schema()
            if isinstance(schema, type) and issubclass(schema, BaseModel)
            else schema
        )
        return {"name": tool.name, "description": tool.description, "args": args}
    return tool


def request_key(
    provider: Provider,
    messages: Sequence[BaseMessage],
    *,
    tools: Sequence[BaseTool | dict[str, Any]] = (),
    tool_choice: str | None = None,
    schema: type[BaseModel] | None = None,
) -> str:
    """Return the sha256 that identifies a request to `provider` (see the module docstring)."""
    options = provider.options
    canonical = {
        "provider": provider.spec,
        "model": provider.model,
        "messages": [
            {"type": m.type, "content": m.content, "tool_calls": getattr(m, "tool_calls", None)}
            for m in messages
        ],
        "tools": [_tool_view(t) for t in tools],
        "tool_choice": tool_choice,
        "schema": None if schema is None else schema.model_json_schema(),
        "temperature": options.temperature,
        "max_tokens": options.max_tokens,
    }
    text = json.dumps(canonical, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class ReplayCache:
    """A folder of recorded answers, `<key[:2]>/<key>.json`, with counters for this process."""

    def __init__(self, folder: Path, mode: ReplayMode = "record") -> None:
        if mode not in REPLAY_MODES:
            raise ConfigError(f"replay mode {mode!r} is not one of {', '.join(REPLAY_MODES)}")
        self.folder = folder
        self.mode = mode
        self.hits = 0
        self.misses = 0  # answers asked of a provider (and recorded)

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> tuple[AIMessage, TokenUsage] | None:
        """Return the recorded answer of `key`, or None (always None in `refresh` mode)."""
        if self.mode == "refresh":
            return None
        path = self._path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"replay cache entry {path} is unreadable: {exc}") from None
        (message,) = messages_from_dict([data["message"]])
        assert isinstance(message, AIMessage)
        usage = data["usage"]
        return message, TokenUsage(usage["input"], usage["output"], usage["source"])

    def put(self, key: str, message: AIMessage, usage: TokenUsage) -> None:
        """Record an answer; written to a temporary file and renamed, so a reader never sees
        half an entry (runs in parallel may record the same key)."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "message": messages_to_dict([message])[0],
            "usage": {
                "input": usage.input_tokens,
                "output": usage.output_tokens,
                "source": usage.source,
            },
        }
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, sort_keys=True, indent=1)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would keep a shared or committed cache private
        os.replace(tmp, path)


class ReplayProvider(Provider):
    """A provider seen through the replay cache: the role's loop (retries, repair, decision log)
    is unchanged; only the asking is answered from disk when it can be.

    `ready` is `Provider`'s no-op: nothing to start for a replayed answer; the inner provider is
    readied on a miss, so a re-run from the cache never starts a local model server.
    """

    def __init__(self, inner: Provider, cache: ReplayCache) -> None:
        super().__init__(inner.spec, inner.kind, inner.model, inner.options, inner.queue)
        self.inner = inner
        self.cache = cache
        # The usage of answers handed out and not yet asked for (`usage` follows `answer`).
        self._usage: dict[int, TokenUsage] = {}

    async def answer(self, call: Call) -> AIMessage:
        ask = call.ask
        key = request_key(
            self.inner,
            call.messages,
            tools=ask.tools,
            tool_choice=ask.tool_choice,
            schema=ask.schema,
        )
        found = self.cache.get(key)
        if found is not None:
            self.cache.hits += 1
            message, usage = found
            self._usage[id(message)] = usage
            return message
        if self.cache.mode == "replay":
            raise ModelUnavailable(
                f"replay cache {self.cache.folder} has no answer of {self.spec} for request "
                f"{key[:12]} (replay mode asks no model; run with mode record to add it)"
            )
        await self.inner.ready()
        message = await self.inner.answer(call)
        usage = await self.inner.usage(call, message)
        self.cache.misses += 1
        self.cache.put(key, message, usage)
        self._usage[id(message)] = usage
        return message

    async def usage(self, call: Call, answer: AIMessage) -> TokenUsage:
        return self._usage.pop(id(answer), TokenUsage(0, 0, "none"))

    async def settle(self, limit: float) -> None:
        await self.inner.settle(limit)
