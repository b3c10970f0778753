"""Execute one claimed run: build the graph's input and config, stream it, and judge the outcome.

A retried run (its worker died) resumes from the last checkpoint that run wrote instead of
starting over, so steps that completed are not executed again.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import typing
import uuid
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, replace
from typing import Any, cast

from langchain_core.messages import BaseMessage, BaseMessageChunk
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointTuple
from langgraph.types import Command, Send, StateSnapshot
from pydantic import BaseModel

from agent_ops.errors import ConfigError
from agent_ops.governance.tools import ToolPermissions, ToolScope, bind_scope, reset_scope
from agent_ops.runtime.registry import CompiledGraph, GraphRegistry, GraphUnavailable
from agent_ops.runtime.requests import RunOptions
from agent_ops.runtime.serde import dumps, to_jsonable
from agent_ops.runtime.state import checkpoint_of, interrupt_view
from agent_ops.runtime.streams import RunStream
from agent_ops.storage import Assistant, Run, Storage
from agent_ops.types import DEFAULT_OWNER, Json, RunStatus

log = logging.getLogger(__name__)

# What a client may ask to stream, mapped to what LangGraph streams to produce it.
_GRAPH_MODE = {
    "values": "values",
    "updates": "updates",
    "custom": "custom",
    "checkpoints": "checkpoints",
    "tasks": "tasks",
    "debug": "debug",
    "messages": "messages",
    "messages-tuple": "messages",
}


@dataclass(frozen=True, slots=True)
class RunOutcome:
    status: RunStatus
    error: str | None
    values: Json | None
    interrupts: Json
    output: Json
    steps: tuple[str, ...] = ()
    """The graph's nodes that completed in this attempt, in order (for the audit trail)."""


def run_config(run: Run, options: RunOptions, assistant: Assistant) -> RunnableConfig:
    """Merge the assistant's config with the run's and add the ids LangGraph needs."""
    requested: dict[str, Any] = options.config or {}
    configurable = {
        # `__` keys are the server's (the deps bound into the graph's config): a stored value
        # must never shadow them, though requests carrying one are refused at the door.
        **_public(assistant.config.get("configurable") or {}),
        **_public(requested.get("configurable") or {}),
        "thread_id": run.thread_id,
        "run_id": run.run_id,
        "assistant_id": assistant.assistant_id,
        "graph_id": assistant.graph_id,
    }
    checkpoint = options.checkpoint or {}
    if options.checkpoint_id:
        checkpoint = {**checkpoint, "checkpoint_id": options.checkpoint_id}
    configurable.update({k: v for k, v in checkpoint.items() if k != "thread_id"})
    config: dict[str, Any] = {**assistant.config, **requested, "configurable": configurable}
    config["metadata"] = {
        **(assistant.config.get("metadata") or {}),
        **(requested.get("metadata") or {}),
        **run.metadata,
        "run_id": run.run_id,
        "thread_id": run.thread_id,
        "assistant_id": assistant.assistant_id,
        "graph_id": assistant.graph_id,
        "run_attempt": run.attempt,
    }
    if "recursion_limit" in requested:
        config["recursion_limit"] = requested["recursion_limit"]
    return config  # type: ignore[return-value]


def run_context(assistant: Assistant, options: RunOptions) -> Json:
    """The run's context (LangGraph's runtime context), as the LangGraph server makes it: the
    assistant's under the run's; when neither gives one, the run's configurable (the older
    way to pass the same values), which `graph_context` then narrows to the graph's fields."""
    given = {**assistant.context, **(options.context or {})}
    if given:
        return given
    return {
        **_public(assistant.config.get("configurable") or {}),
        **_public((options.config or {}).get("configurable") or {}),
    }


def graph_context(graph: CompiledGraph, context: Json) -> Json:
    """`context` without the keys the graph's context schema does not declare (a dataclass or
    pydantic model would refuse them), so LangGraph fills in the schema's defaults."""
    fields = _context_fields(getattr(graph, "context_schema", None))
    if fields is None or not context:
        return context
    return {k: v for k, v in context.items() if k in fields}


@functools.lru_cache(maxsize=256)
def _context_fields(schema: Any) -> frozenset[str] | None:
    """The field names of a context schema; None for no schema (everything passes)."""
    if schema is None:
        return None
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return frozenset(schema.model_fields)
    if dataclasses.is_dataclass(schema):
        return frozenset(f.name for f in dataclasses.fields(schema))
    try:
        return frozenset(typing.get_type_hints(schema))
    except Exception:  # a schema whose fields cannot be read: leave the context as it is
        return None


def _public(configurable: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in configurable.items() if not str(k).startswith("__")}


def _client_view(mode: str, chunk: Any) -> Any:
    """A `checkpoints` or `debug` chunk as the LangGraph server streams it.

    `__` keys are left out of the configs it carries: LangGraph copies the run's whole
    configurable there, the deps included (models, connectors and their secrets), which are the
    server's, not the client's. A `debug` checkpoint also gets the `checkpoint` and
    `parent_checkpoint` addresses, and its subgraph tasks their checkpoint's configurable
    (as `checkpoint`, in place of `state`).
    """
    if mode == "debug" and isinstance(chunk, dict) and chunk.get("type") == "checkpoint":
        payload = _client_view("checkpoints", chunk.get("payload"))
        if isinstance(payload, dict):
            payload["checkpoint"] = checkpoint_of(payload.get("config"))
            payload["parent_checkpoint"] = checkpoint_of(payload.get("parent_config"))
            payload["tasks"] = [_task_address(task) for task in payload.get("tasks") or ()]
        return {**chunk, "payload": payload}
    if mode != "checkpoints" or not isinstance(chunk, dict):
        return chunk
    scrubbed = dict(chunk)
    for key in ("config", "parent_config"):
        config = chunk.get(key)
        if isinstance(config, dict) and isinstance(config.get("configurable"), dict):
            scrubbed[key] = {**config, "configurable": _public(config["configurable"])}
    return scrubbed


def _task_address(task: Any) -> Any:
    state = task.get("state") if isinstance(task, dict) else None
    if not isinstance(state, dict) or not state.get("configurable"):
        return task
    address = {k: v for k, v in task.items() if k != "state"}
    address["checkpoint"] = _public(state["configurable"])
    return address


def graph_input(options: RunOptions) -> Any:
    """Return the run's input, or a Command when it resumes, updates or jumps."""
    command = options.command
    if not command:
        return options.input
    goto = command.get("goto")
    if isinstance(goto, dict):
        goto = Send(goto["node"], goto.get("input"))
    elif isinstance(goto, list):
        goto = [Send(g["node"], g.get("input")) if isinstance(g, dict) else g for g in goto]
    return Command(
        resume=command.get("resume"),
        update=command.get("update"),
        goto=goto if goto is not None else (),
    )


def state_values(state: StateSnapshot) -> Json:
    """Return a snapshot's values as a JSON object (a non-dict state goes under `__root__`)."""
    return _values_object(state.values)


def _values_object(values: Any) -> Json:
    """Return a graph's values as a JSON object: a non-dict state goes under `__root__`."""
    found = to_jsonable(values)
    return found if isinstance(found, dict) else {"__root__": found}


def thread_interrupts(state: StateSnapshot) -> Json:
    """Return interrupts keyed by task id, as the LangGraph server reports them on a thread."""
    return {
        task.id: [interrupt_view(i) for i in task.interrupts]
        for task in state.tasks
        if task.interrupts
    }


_NO_VALUES = object()


class _Chunks:
    """Publishes what `graph.astream` yields as the events of the modes the client asked for.

    `messages` chunks become `messages` tuples (`messages-tuple`) and/or the `messages/*`
    events of the non-tuple `messages` mode; a chunk from a subgraph gets its namespace
    appended to the event name (`values|parent:<task id>`).

    It also keeps what the outcome of a run that ends without a pause needs: the graph's last
    root `values` chunk (LangGraph reads the same channels for it as for the thread's state),
    and whether the graph paused (a root `__interrupt__` update, sent for `interrupt()` and
    for `interrupt_before`/`interrupt_after` alike).
    """

    def __init__(self, stream: RunStream, requested: Sequence[str], steps: list[str]) -> None:
        self._stream = stream
        self._tuples = "messages-tuple" in requested
        self._seen: dict[str, BaseMessage] | None = {} if "messages" in requested else None
        self._updates = "updates" in requested
        self._values = "values" in requested
        self._steps = steps
        self.last_values: Any = _NO_VALUES
        self.paused = False

    def publish(self, ns: Sequence[str], mode: str, chunk: Any) -> None:
        if mode == "updates" and not ns and isinstance(chunk, dict):
            self._steps.extend(node for node in chunk if not node.startswith("__"))
            self.paused = self.paused or "__interrupt__" in chunk
        if mode == "values" and not ns:
            self.last_values = chunk
            self.paused = self.paused or (isinstance(chunk, dict) and "__interrupt__" in chunk)
        # `updates` and `values` are always streamed (the run's steps, its outcome); a client
        # that did not ask for them gets none, from the root graph or a subgraph.
        if (mode == "updates" and not self._updates) or (mode == "values" and not self._values):
            return
        suffix = "|" + "|".join(ns) if ns else ""
        if mode != "messages":
            self._stream.publish(mode + suffix, dumps(_client_view(mode, chunk)))
            return
        message, metadata = cast(tuple[Any, dict[str, Any]], chunk)
        if self._tuples:
            self._stream.publish("messages" + suffix, dumps([message, metadata]))
        if self._seen is not None:
            for name, data in self._message_events(self._seen, message, metadata):
                self._stream.publish(name + suffix, dumps(data))

    @staticmethod
    def _message_events(
        seen: dict[str, BaseMessage], message: Any, metadata: dict[str, Any]
    ) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        if not isinstance(message, BaseMessage) or message.id is None:
            return out
        if message.id not in seen:
            out.append(("messages/metadata", {message.id: {"metadata": metadata}}))
        if isinstance(message, BaseMessageChunk):
            previous = seen.get(message.id)
            merged: BaseMessage = (
                message if not isinstance(previous, BaseMessageChunk) else previous + message
            )
            seen[message.id] = merged
            out.append(("messages/partial", [merged]))
        else:
            seen[message.id] = message
            out.append(("messages/complete", [message]))
        return out


class Executor:
    """Runs claimed runs to an outcome, publishing their events on a stream."""

    def __init__(
        self, storage: Storage, registry: GraphRegistry, tools: ToolPermissions | None = None
    ) -> None:
        self._storage = storage
        self._registry = registry
        self._tools = tools if tools is not None else ToolPermissions.of()

    async def execute(self, run: Run, stream: RunStream) -> RunOutcome:
        """Run the graph; exceptions from the graph become an `error` outcome and event."""
        options = RunOptions.from_json(run.kwargs)
        assistant = await self._storage.get_assistant(run.assistant_id)
        config = run_config(run, options, assistant)
        stream.publish("metadata", dumps({"run_id": run.run_id, "attempt": run.attempt}))
        # A factory's graph (and what its context manager holds open) lasts the run.
        async with self._registry.open(
            assistant.graph_id,
            config,
            access="threads.create_run",
            context=run_context(assistant, options),
        ) as graph:
            return await self._run_graph(graph, run, options, assistant, config, stream)

    async def _run_graph(
        self,
        graph: CompiledGraph,
        run: Run,
        options: RunOptions,
        assistant: Assistant,
        config: RunnableConfig,
        stream: RunStream,
    ) -> RunOutcome:
        steps: list[str] = []
        # Every write the graph makes, by whichever path, is checked against its allow-list
        # and recorded for this run (agent_ops/governance/tools.py).
        scope = bind_scope(
            ToolScope(
                graph_id=assistant.graph_id,
                tenant=run.tenant_id,
                owner=run.owner,
                run_id=run.run_id,
                thread_id=run.thread_id,
                trail=self._storage,
                permissions=self._tools,
                # The resume's owner is the approver its admission checked; without
                # authentication nobody is known to have answered.
                resumed_by=run.owner if options.resumes and run.owner != DEFAULT_OWNER else None,
            )
        )
        chunks = _Chunks(stream, options.stream_mode, steps)
        try:
            await self._stream(graph, run, options, assistant, config, chunks, stream)
        except Exception as exc:
            # With the traceback: the run's error names only the exception, and an operator
            # (or a chaos test) needs to know where it came from.
            log.warning(
                "run %s failed: %s: %s",
                run.run_id,
                type(exc).__name__,
                exc,
                exc_info=exc,
                extra={"run_id": run.run_id, "thread_id": run.thread_id},
            )
            try:
                values = await self._values(graph, config)
            except ConfigError:  # the state cannot be read at all (encrypted under another key)
                values = None
            return error_outcome(exc, stream, values, tuple(steps))
        finally:
            reset_scope(scope)
        finished = _streamed_outcome(chunks) if _outputs_all(graph) else None
        if finished is None:  # a pause, nothing streamed, or an output schema: the state says
            finished = await self.outcome(graph, config)
        return replace(finished, steps=tuple(steps))

    async def _stream(
        self,
        graph: CompiledGraph,
        run: Run,
        options: RunOptions,
        assistant: Assistant,
        config: RunnableConfig,
        chunks: _Chunks,
        stream: RunStream,
    ) -> None:
        requested = options.stream_mode
        # `updates` always: its chunks name each node as it completes (the run's steps) and
        # tell a pause; `values` always: its last chunk is the outcome of a run that ends.
        graph_modes = {_GRAPH_MODE[m] for m in requested if m != "events"}
        modes = sorted(graph_modes | {"updates", "values"})
        payload = await self._resume_point(graph, run, options, config)
        subgraphs = options.stream_subgraphs
        streaming: dict[str, Any] = {
            "context": graph_context(graph, run_context(assistant, options)),
            "stream_mode": modes,
            "subgraphs": subgraphs,
            "interrupt_before": options.interrupt_before,
            "interrupt_after": options.interrupt_after,
            "durability": options.durability or "async",
        }
        if "events" in requested:
            await self._stream_events(graph, run, payload, config, streaming, chunks, stream)
            return
        # As the LangGraph server streams them: `values` of the graph's output channels (a
        # graph with an output schema shows only those), not of its whole state.
        async for item in graph.astream(
            payload, config, output_keys=graph.output_channels, **streaming
        ):
            ns, mode, chunk = item if subgraphs else ((), *item)
            chunks.publish(ns, mode, chunk)

    @staticmethod
    async def _stream_events(
        graph: CompiledGraph,
        run: Run,
        payload: Any,
        config: RunnableConfig,
        options: dict[str, Any],
        chunks: _Chunks,
        stream: RunStream,
    ) -> None:
        """Stream through LangChain's `astream_events` (v2), as the LangGraph server does for
        `stream_mode="events"`: the graph's own `on_chain_stream` events carry the chunks of
        the other modes; every other event is published whole as an `events` event.

        Only runs that ask for `events` come here: the callback machinery costs time per step.
        """
        # The graph's root run gets the run's id (a retry gets a fresh one, as tracing expects).
        root = uuid.UUID(run.run_id) if run.attempt == 1 else uuid.uuid4()
        root_id = str(root)
        subgraphs = options["subgraphs"]
        async for event in graph.astream_events(
            payload,
            {**config, "run_id": root},
            version="v2",
            **options,
        ):
            if "langsmith:hidden" in (event.get("tags") or ()):
                continue
            if event["event"] == "on_chain_stream" and event["run_id"] == root_id:
                item = event["data"]["chunk"]
                ns, mode, chunk = item if subgraphs else ((), *item)
                chunks.publish(ns, mode, chunk)
            else:
                stream.publish("events", dumps(event))

    async def _resume_point(
        self, graph: CompiledGraph, run: Run, options: RunOptions, config: RunnableConfig
    ) -> Any:
        """Input for this attempt: None to continue from this run's own last checkpoint."""
        if run.attempt > 1 and not options.checkpoint_id:
            state = await graph.aget_state(config)
            if state.metadata and state.metadata.get("run_id") == run.run_id:
                log.info("run %s attempt %d resumes from checkpoint", run.run_id, run.attempt)
                return None
        return graph_input(options)

    async def state_before(self, run: Run) -> tuple[Json | None, Json]:
        """Return the thread's values and interrupts as they were before `run` wrote anything.

        That is the newest root checkpoint another run wrote; (None, {}) when there is none.
        """
        assistant = await self._storage.get_assistant(run.assistant_id)
        config = run_config(run, RunOptions.from_json(run.kwargs), assistant)
        root: RunnableConfig = {"configurable": {"thread_id": run.thread_id, "checkpoint_ns": ""}}
        head: RunnableConfig | None = None
        # Close the listing before reading state: the PostgreSQL saver holds its connection
        # (and lock) while a listing is open.
        listing = cast(
            AsyncGenerator[CheckpointTuple, None], self._storage.checkpointer.alist(root)
        )
        async with aclosing(listing) as history:
            async for item in history:
                if (item.metadata or {}).get("run_id") != run.run_id:
                    head = item.config
                    break
        if head is None:
            return None, {}
        async with self._registry.open(assistant.graph_id, config) as graph:
            state = await graph.aget_state(head)
        return state_values(state), thread_interrupts(state)

    async def _values(self, graph: CompiledGraph, config: RunnableConfig) -> Json | None:
        return state_values(await graph.aget_state(_latest(config)))

    async def outcome(self, graph: CompiledGraph, config: RunnableConfig) -> RunOutcome:
        """Judge a finished stream from the thread's latest state."""
        state = await graph.aget_state(_latest(config))
        values = state_values(state)
        interrupts = thread_interrupts(state)
        # The thread keeps the whole state; the run's output is what its graph outputs.
        keys = graph.output_channels
        output = (
            dict(values)
            if _outputs_all(graph) or not isinstance(keys, list)
            else {k: values[k] for k in keys if k in values}
        )
        if interrupts:
            # As a `values` chunk carries them: each interrupt whole (`response_schema` too).
            output["__interrupt__"] = [
                to_jsonable(i) for task in state.tasks for i in task.interrupts
            ]
        status: RunStatus = "interrupted" if (interrupts or state.next) else "success"
        return RunOutcome(status, None, values, interrupts, output)


def error_outcome(
    exc: BaseException, stream: RunStream, values: Json | None = None, steps: tuple[str, ...] = ()
) -> RunOutcome:
    """The outcome of a run that failed with `exc`, its `error` event published.

    A graph that could not be had is reported as the LangGraph server reports it, by the
    factory's own exception type (the message says which factory failed)."""
    cause = exc.__cause__ if isinstance(exc, GraphUnavailable) and exc.__cause__ else exc
    error = {"error": type(cause).__name__, "message": str(exc)}
    stream.publish("error", dumps(error))
    return RunOutcome(
        "error", f"{type(exc).__name__}: {exc}", values, {}, {"__error__": error}, steps
    )


def _outputs_all(graph: CompiledGraph) -> bool:
    """Whether the graph outputs its whole state (no output schema narrows it)."""
    return bool(graph.output_channels == graph.stream_channels_asis)


def _streamed_outcome(chunks: _Chunks) -> RunOutcome | None:
    """The outcome of a run that ended without a pause, from its last `values` chunk: the same
    values `outcome` would read back from the thread's newest checkpoint, without the read.
    None when the graph paused or streamed no values (then the state is read)."""
    if chunks.paused or chunks.last_values is _NO_VALUES:
        return None
    values = _values_object(chunks.last_values)
    return RunOutcome("success", None, values, {}, dict(values))


def _latest(config: RunnableConfig) -> RunnableConfig:
    """The config of the thread's newest checkpoint (dropping a fork point the run started at)."""
    configurable = {
        k: v
        for k, v in (config.get("configurable") or {}).items()
        if k not in ("checkpoint_id", "checkpoint_map")
    }
    return {**config, "configurable": configurable}
