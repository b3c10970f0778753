"""Assistants: a default one per registered graph, plus any created through the API.

Owns the assistant rules: ids are UUIDs or a graph id standing for its default assistant, an
assistant names a registered graph, and a graph is drawn and described with its assistant's
config.
"""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal, NotRequired, Required, get_type_hints

from langchain_core.runnables.utils import create_model
from langgraph.pregel import Pregel
from pydantic import PydanticUserError, TypeAdapter
from typing_extensions import TypedDict, is_typeddict

from agent_ops.errors import BadRequest, InvalidInput, NotFound
from agent_ops.governance import audit, authz, hidden, stamp, visible
from agent_ops.runtime.ids import checked_id, new_id
from agent_ops.runtime.registry import CompiledGraph, GraphRegistry, default_assistant_id
from agent_ops.runtime.requests import AssistantRequest, check_configurable
from agent_ops.storage import (
    ANY_ASSISTANT,
    FIRST_PAGE,
    Assistant,
    AssistantChanges,
    AssistantFilter,
    NewAssistant,
    Page,
    Storage,
    ThreadFilter,
)
from agent_ops.types import Json
from agent_ops.values import DEFAULT_LIMITS, Limits

if TYPE_CHECKING:
    from agent_ops.runtime.threads import Threads

log = logging.getLogger(__name__)


class Assistants:
    """The assistants of one store, checked against the graphs of one registry."""

    def __init__(
        self,
        storage: Storage,
        registry: GraphRegistry,
        *,
        limits: Limits = DEFAULT_LIMITS,
        threads: Threads | None = None,
    ) -> None:
        self._storage = storage
        self._limits = limits
        self._registry = registry
        self._threads = threads  # deletes an assistant's threads with it, when asked
        # Reads with no rule of their own go straight through; a rule (a tenant filter, say)
        # would turn one into a method here.

    async def create_defaults(self) -> None:
        """Make sure every registered graph has its default assistant."""
        for graph_id in self._registry.ids():
            default = NewAssistant(
                assistant_id=default_assistant_id(graph_id),
                graph_id=graph_id,
                name=graph_id,
                metadata={"created_by": "system"},
            )
            await self._storage.create_assistant(default, "do_nothing")

    def require_graph(self, graph_id: str) -> None:
        """Raise NotFound naming the registered graphs unless `graph_id` is one (the LangGraph
        server answers an assistant of an unknown graph with 404)."""
        if graph_id not in self._registry:
            raise NotFound(
                f"graph {graph_id!r} not found; registered graphs: {', '.join(self._registry.ids())}"
            )

    def require_registered(self, assistant: Assistant) -> None:
        """Raise BadRequest unless the assistant's graph is registered in this process."""
        if assistant.graph_id not in self._registry:
            raise BadRequest(
                f"assistant {assistant.assistant_id} uses graph {assistant.graph_id!r}, which "
                f"is not registered; registered graphs: {', '.join(self._registry.ids())}"
            )

    async def resolve(self, assistant_id: str) -> Assistant:
        """Find an assistant by id, or a graph id standing for its default assistant."""
        if assistant_id in self._registry:
            assistant_id = default_assistant_id(assistant_id)
        else:
            try:
                uuid.UUID(assistant_id)
            except ValueError:
                # 422, as the LangGraph server answers an id that cannot name an assistant
                raise InvalidInput(
                    f"invalid assistant {assistant_id!r}: neither a UUID nor a registered "
                    f"graph ({', '.join(self._registry.ids())})"
                ) from None
        found = await self._storage.get_assistant(assistant_id)
        if not visible(found.tenant_id, found.owner, shared=True):
            raise hidden("assistant", assistant_id)
        return found

    async def get(self, assistant_id: str) -> Assistant:
        """Return the assistant (or a graph's default one) as `resolve` finds it, once an app's
        `@auth.on` handler allows reading it."""
        found = await self.resolve(assistant_id)
        await authz.guard_assistant(self._storage, "read", _asked(found))  # governance
        return found

    async def search(self, filter: AssistantFilter, page: Page = FIRST_PAGE) -> list[Assistant]:
        """Search the caller's tenant's assistants and the shared defaults."""
        return await authz.governed_search(
            "assistants", filter, page, self._storage.search_assistants
        )

    async def count(self, filter: AssistantFilter = ANY_ASSISTANT) -> int:
        return await authz.governed_count("assistants", filter, self._storage.count_assistants)

    async def create(self, request: AssistantRequest) -> Assistant:
        """Create an assistant of a registered graph (a new id unless one is given)."""
        described = request.described
        asked: Json = {"assistant_id": request.assistant_id, **request.given()}
        asked["metadata"] = dict(described.metadata or {})
        await authz.check("assistants", "create", asked)  # governance: may set metadata
        metadata = asked.get("metadata")
        self.require_graph(request.graph_id)
        check_configurable(described.config)
        config, context = _paired(described.config, described.context)
        self._limits.metadata(metadata)
        new = NewAssistant(
            assistant_id=checked_id(request.assistant_id, "assistant_id")
            if request.assistant_id
            else new_id(),
            graph_id=request.graph_id,
            name=described.name or request.graph_id,
            description=described.description,
            config=config or {},
            context=context or {},
            metadata=metadata or {},
            **stamp(),
        )
        made = await self._storage.create_assistant(new, request.if_exists or "raise")
        await self._audit("assistant.create", made, {**request.given(), "metadata": metadata})
        return made

    async def _audit(self, action: str, assistant: Assistant, payload: Any = None) -> None:
        """Record a change of `assistant` in the audit trail (its version after the change)."""
        await audit.record(
            self._storage,
            action,
            "assistant",
            assistant.assistant_id,
            payload=payload,
            detail={"graph_id": assistant.graph_id, "version": assistant.version},
            tenant=assistant.tenant_id,
        )

    async def update(self, assistant_id: str, changes: AssistantChanges) -> Assistant:
        """Change an assistant (a new version); a new graph must be registered."""
        current = await self.resolve(assistant_id)
        asked = {**_asked(current), **changes.given()}
        await authz.guard_assistant(self._storage, "update", asked)  # governance
        if changes.graph_id is not None:
            self.require_graph(changes.graph_id)
        check_configurable(changes.config)
        config, context = _paired(changes.config, changes.context)
        # an empty config keeps the current one, as on the LangGraph server
        changes = replace(
            changes, metadata=asked.get("metadata"), config=config or None, context=context
        )
        self._limits.merged_metadata(current.metadata, changes.metadata)
        changed = await self._storage.update_assistant(current.assistant_id, changes)
        await self._audit("assistant.update", changed, changes.given())
        return changed

    async def delete(self, assistant_id: str, *, delete_threads: bool = False) -> None:
        """Delete the assistant; with `delete_threads`, also every thread whose metadata names
        it (`metadata.assistant_id`, as runs set it), each as deleting that thread does."""
        current = await self.resolve(assistant_id)
        await authz.guard_assistant(self._storage, "delete", _asked(current))  # governance
        await self._storage.delete_assistant(current.assistant_id)
        await self._audit("assistant.delete", current)
        if not delete_threads:
            return
        if self._threads is None:
            raise BadRequest("deleting an assistant's threads needs the runtime's threads")
        named = ThreadFilter(metadata={"assistant_id": current.assistant_id})
        while found := await self._threads.search(named, Page(limit=100)):
            for thread in found:
                await self._threads.delete(thread.thread_id)

    async def versions(
        self, assistant_id: str, *, metadata: Json | None, limit: int, offset: int
    ) -> list[Assistant]:
        current = await self.get(assistant_id)
        return await self._storage.list_assistant_versions(
            current.assistant_id, metadata=metadata, limit=limit, offset=offset
        )

    async def set_latest(self, assistant_id: str, version: int) -> Assistant:
        current = await self.resolve(assistant_id)
        asked = {**_asked(current), "version": version}
        await authz.guard_assistant(self._storage, "update", asked)  # governance
        latest = await self._storage.set_assistant_version(current.assistant_id, version)
        await self._audit("assistant.set_latest", latest)
        return latest

    # -- the graph behind an assistant -------------------------------------------------------------
    @asynccontextmanager
    async def graph(self, assistant_id: str) -> AsyncIterator[tuple[Assistant, CompiledGraph]]:
        """The assistant and its graph, built with the assistant's config, for the block."""
        current = await self.resolve(assistant_id)
        async with self._registry.open(
            current.graph_id, {"configurable": current.config}, access="assistants.read"
        ) as compiled:
            yield current, compiled

    async def drawing(self, assistant_id: str, *, xray: bool | int = False) -> Json:
        """Return the assistant's graph as nodes and edges (LangChain's drawable JSON)."""
        await self.get(assistant_id)  # governance: an app's handler may hide it
        async with self.graph(assistant_id) as (_, compiled):
            drawable = (await compiled.aget_graph(xray=xray)).to_json()
        # As the LangGraph server draws it: a node's data without the runnable's class path.
        for node in drawable.get("nodes", ()):
            if isinstance(node.get("data"), dict):
                node["data"].pop("id", None)
        return drawable

    async def schemas(self, assistant_id: str) -> Json:
        """Return the JSON schemas of the assistant's graph."""
        await self.get(assistant_id)  # governance: an app's handler may hide it
        async with self.graph(assistant_id) as (current, compiled):
            return {"graph_id": current.graph_id, **graph_schemas(compiled)}

    async def subgraphs(
        self, assistant_id: str, *, namespace: str | None = None, recurse: bool = False
    ) -> Json:
        """Return the schemas of the assistant's subgraphs by namespace (without a graph id)."""
        await self.get(assistant_id)  # governance: an app's handler may hide it
        async with self.graph(assistant_id) as (_, compiled):
            return {
                ns: graph_schemas(sub) async for ns, sub in _pregels(compiled, namespace, recurse)
            }


def _paired(config: Json | None, context: Json | None) -> tuple[Json | None, Json | None]:
    """Return config and context kept one and the same, as the LangGraph server keeps them: the
    context is `config.configurable` when that is given, else `configurable` is the context.
    Raise BadRequest when both are given."""
    configurable = (config or {}).get("configurable")
    if configurable and context:
        raise BadRequest(
            "config.configurable and context are both given; give context alone (it replaces "
            "configurable since LangGraph 0.6)"
        )
    if configurable:
        return config, configurable
    if context:
        return {**(config or {}), "configurable": context}, context
    return config, context


def _asked(assistant: Assistant) -> Json:
    """An assistant as `@auth.on.assistants` handlers read it (LangGraph's value)."""
    return {"assistant_id": assistant.assistant_id, "metadata": dict(assistant.metadata)}


async def _pregels(
    compiled: CompiledGraph, namespace: str | None, recurse: bool
) -> AsyncIterator[tuple[str, CompiledGraph]]:
    async for ns, sub in compiled.aget_subgraphs(namespace=namespace, recurse=recurse):
        if isinstance(sub, Pregel):
            yield ns, sub


# Keys of `configurable` the server fills in itself; the LangGraph server leaves them out too.
_SERVER_CONFIGURABLE = (
    "__pregel_checkpointer",
    "__pregel_store",
    "checkpoint_id",
    "checkpoint_ns",
    "thread_id",
)


def graph_schemas(compiled: CompiledGraph) -> dict[str, Any]:
    """Return a graph's schemas as the LangGraph server reports them: each one on its own, and
    None (with a warning in the log) for one that cannot be drawn, so the others still come."""
    return {
        "input_schema": _schema("input", compiled, _input_schema),
        "output_schema": _schema("output", compiled, _output_schema),
        "state_schema": _schema("state", compiled, _state_schema),
        "config_schema": _schema("config", compiled, _configurable_schema),
        "context_schema": _schema("context", compiled, _context_schema),
    }


def _schema(
    kind: str, compiled: CompiledGraph, draw: Callable[[CompiledGraph], Json | None]
) -> Json | None:
    try:
        return draw(compiled)
    except Exception as exc:  # pydantic and langgraph raise many kinds; the rest still count
        log.warning("graph %s: no %s schema (%s: %s)", compiled.name, kind, type(exc).__name__, exc)
        return None


def _input_schema(compiled: CompiledGraph) -> Json:
    return _io_schema(compiled, "input")


def _output_schema(compiled: CompiledGraph) -> Json:
    return _io_schema(compiled, "output")


def _io_schema(compiled: CompiledGraph, side: Literal["input", "output"]) -> Json:
    """The graph's input or output schema; a `typing.TypedDict` pydantic refuses on Python
    3.11 is drawn from a `typing_extensions` copy of it."""
    try:
        drawn: Json = getattr(compiled, f"get_{side}_jsonschema")()
        return drawn
    except PydanticUserError:
        owner = getattr(compiled, "builder", None)
        return TypeAdapter(_portable(owner, f"{side}_schema")).json_schema()


def _portable(owner: Any, attribute: str) -> Any:
    """Return the `typing.TypedDict` that `owner.attribute` holds as a `typing_extensions` copy:
    pydantic refuses the first before Python 3.12 and draws the second as 3.12 draws the first.
    Anything else is returned as it is."""
    declared = getattr(owner, attribute, None)
    if declared is None or not (is_typeddict(declared) and sys.version_info < (3, 12)):
        return declared
    hints = get_type_hints(declared, include_extras=True)
    fields = {
        key: Required[hint] if key in declared.__required_keys__ else NotRequired[hint]
        for key, hint in hints.items()
    }
    portable = TypedDict(declared.__name__, fields)  # type: ignore[misc]  # built at runtime
    portable.__doc__ = declared.__doc__
    return portable


def _state_schema(compiled: CompiledGraph) -> Json:
    """The graph's stream channels as one object, each typed by the updates its channel takes
    (Any where that type has no JSON schema): what the LangGraph server calls the state."""
    fields: dict[str, Any] = {}
    for key in compiled.stream_channels_list:
        update_type = getattr(compiled.channels[key], "UpdateType", Any)
        try:
            create_model(key, __root__=(update_type, None)).model_json_schema()
        except Exception:  # pydantic refuses the type in many ways; Any stands in for it
            update_type = Any
        fields[key] = (update_type, None)
    return create_model(compiled.get_name("State"), **fields).model_json_schema()


def _configurable_schema(compiled: CompiledGraph) -> Json:
    """The `configurable` part of the config alone (the context schema, as LangGraph 1 builds
    it), without the keys the server sets itself; {} for a graph without one."""
    if compiled.context_schema is None:
        return {}
    schema: Json = TypeAdapter(_portable(compiled, "context_schema")).json_schema()
    for key in _SERVER_CONFIGURABLE:
        schema.get("properties", {}).pop(key, None)
    return schema


def _context_schema(compiled: CompiledGraph) -> Json | None:
    try:
        return compiled.get_context_jsonschema()
    except PydanticUserError:
        return TypeAdapter(_portable(compiled, "context_schema")).json_schema()
