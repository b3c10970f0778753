"""What a graph gets per run: the model layer, the connectors, the server's public URL.

The composition root (`agent-ops serve` / `worker`, or your own code) builds one `Deps` at
start-up and hands it to `Runtime(deps=...)`; the runtime's registry binds it into every graph's
config, so each run of that runtime, shipped graph or a user's own, reads the same objects, and
two runtimes in one process never see each other's. Nothing is installed in a global or passed
through the environment. A node reads them with `deps_for(config)`:

```python
async def respond(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
    models = deps_for(config).need_models()
    return {"messages": [await models.role("respond").ainvoke(state["messages"])]}
```

They travel in the run config under a private key that clients cannot send (the runtime
refuses configurable keys starting with `__`), and LangGraph leaves such keys out of checkpoint
metadata, so they are never stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, overload, runtime_checkable

from langchain_core.runnables import RunnableConfig

from agent_ops.errors import ConfigError

if TYPE_CHECKING:
    from agent_ops.models import Models

__all__ = ["DEPS_KEY", "Closeable", "Deps", "deps_for"]

DEPS_KEY = "__agent_ops_deps__"
"""The `configurable` key the deps travel under (private: clients may not send `__` keys)."""

Kind = Literal["models", "connectors", "public_url"]

# How to provide each kind, for the error that says it is missing.
_HOW = {
    "models": (
        "`agent-ops serve` and `agent-ops worker` build one from AGENT_OPS_MODELS_CONFIG; in "
        "your own code pass `Runtime(..., deps=Deps(models=Models(...)))`, or run the graph "
        "with `config=Deps(models=...).bind(config)`"
    ),
    "connectors": (
        "set AGENT_OPS_CONNECTORS_CONFIG for `agent-ops serve` and `agent-ops worker`; in your "
        "own code pass `Deps(connectors=tools.config.Connectors.load(path))` to the Runtime, or "
        "run the graph with `config=deps.bind(config)`"
    ),
    "public_url": (
        "`agent-ops serve` sets it from AGENT_OPS_PUBLIC_URL or the address it listens on; in "
        "your own code pass `Deps(public_url=...)`"
    ),
}


@runtime_checkable
class Closeable(Protocol):
    """Something the runtime closes when it stops (the connectors' kept sessions)."""

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Deps:
    """The objects graphs need per run, built once by the composition root.

    `connectors` is typed loosely so that `agent_ops` never imports `tools`: `agent-ops serve`
    gives a `tools.config.Connectors` (the connectors config, read once at start-up, and the
    MCP sessions kept between runs); a graph may accept a narrower object of its own (the
    invoice graph also takes `graphs.invoice.Connections`). The runtime that is given the deps
    owns them: it starts the models with itself and closes models and connectors when it stops.
    """

    models: Models | None = None
    connectors: object | None = None
    public_url: str | None = None
    """Where people reach the server, for links in mails (no trailing slash)."""
    mail: Callable[[str, str, str, str], Awaitable[object]] | None = None
    """Sends the server's own mail (an escalated approval's notice): `(to, subject, body,
    idempotency key)`; built from the connectors config's `mail.smtp`."""

    @overload
    def need(self, kind: Literal["models"]) -> Models: ...
    @overload
    def need(self, kind: Literal["connectors"]) -> object: ...
    @overload
    def need(self, kind: Literal["public_url"]) -> str: ...
    def need(self, kind: Kind) -> Any:
        """Return the `kind` these deps hold; a ConfigError naming it and how to provide it."""
        if kind not in _HOW:
            raise ConfigError(f"unknown dependency {kind!r}; known: {', '.join(_HOW)}")
        value = getattr(self, kind)
        if value is None:
            raise ConfigError(f"this run has no {kind.replace('_', ' ')}: {_HOW[kind]}")
        return value

    def need_models(self) -> Models:
        """Return the model layer; a ConfigError saying how to provide one when there is none."""
        return self.need("models")

    def bind(self, config: RunnableConfig | None = None) -> RunnableConfig:
        """Return `config` with these deps in it, to run a graph in your own code:
        `await graph.ainvoke(input, deps.bind(config))` or `graph.with_config(deps.bind())`."""
        config = config or {}
        configurable: Mapping[str, Any] = config.get("configurable") or {}
        return {**config, "configurable": {**configurable, DEPS_KEY: self}}

    async def start(self) -> None:
        """Start what should run from start-up (local model servers, when configured to)."""
        if self.models is not None:
            await self.models.start()

    async def aclose(self) -> None:
        """Stop the local model servers and close the connectors' kept sessions."""
        try:
            if self.models is not None:
                await self.models.aclose()
        finally:
            if isinstance(self.connectors, Closeable):
                await self.connectors.aclose()


def deps_for(config: RunnableConfig | None = None) -> Deps:
    """Return the deps of the run `config` belongs to (None: the running node's config).

    A graph run outside any runtime, without `Deps.bind`, gets empty deps, whose `need` says
    what is missing; outside a graph run `config` must be given.
    """
    if config is None:
        from langgraph.config import get_config

        try:
            config = get_config()
        except RuntimeError:
            raise ConfigError(
                "deps_for() was called outside a graph run: pass the node's config "
                "(`deps_for(config)`), or build `Deps(...)` yourself"
            ) from None
    found = (config.get("configurable") or {}).get(DEPS_KEY)
    if found is None:
        return Deps()
    if not isinstance(found, Deps):
        raise ConfigError(
            f"configurable.{DEPS_KEY} is a {type(found).__name__}, not agent_ops.deps.Deps; "
            "the key is the runtime's own"
        )
    return found
