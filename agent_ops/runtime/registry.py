"""The graph registry: loads a langgraph.json (LangGraph CLI format) and hands out runnable graphs.

Graph specs are `./path/to/file.py:attr` (relative to the json file) or `package.module:attr`;
`attr` may be a compiled graph, an uncompiled `StateGraph`, or a factory called at each use, as
on the LangGraph server: with no argument, the run's config, a `langgraph_sdk.runtime.
ServerRuntime` (why it is called, the caller, the store, a run's context) or both; returning a
graph, an awaitable of one, or a (sync or async) context manager that stays open while the graph
is used (a run, a state read). Every graph is bound to the server's checkpointer and store,
replacing whatever it was compiled with, and to the runtime's `Deps` (in its config), so a
user's own graph reaches the same models and connectors as the shipped ones, and two runtimes in
one process each hand out their own.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import inspect
import json
import os
import sys
import typing
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeAlias

from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import merge_configs
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import StateGraph
from langgraph.pregel import Pregel
from langgraph.store.base import BaseStore
from langgraph_sdk.runtime import ServerRuntime, _ExecutionRuntime, _ReadRuntime

from agent_ops.deps import Deps
from agent_ops.errors import ConfigError, InvalidInput
from agent_ops.governance.identity import Identity, caller

# The namespace the LangGraph server derives default assistant ids from, so ids match it.
_ASSISTANT_NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")


CompiledGraph: TypeAlias = Pregel[Any, Any, Any, Any]
"""A compiled graph of any state, context, input and output: what the registry hands out."""


def default_assistant_id(graph_id: str) -> str:
    """Return the stable id of the default assistant of `graph_id`."""
    return str(uuid.uuid5(_ASSISTANT_NAMESPACE, graph_id))


AccessContext = Literal["threads.create_run", "threads.update", "threads.read", "assistants.read"]
"""Why a graph is asked for, as LangGraph's `ServerRuntime.access_context` names it."""

FactoryCall: TypeAlias = Callable[[RunnableConfig, Any], Any]
"""Calls a factory with what it asks for, from the run's config and a `ServerRuntime`."""


@dataclass(frozen=True, slots=True)
class GraphEntry:
    graph_id: str
    spec: str
    target: Any
    """A graph (compiled or not), or a factory returning one."""
    call: FactoryCall | None = None
    """How the factory is called; None for a graph."""


class GraphRegistry:
    """The graphs of one langgraph.json, by graph id."""

    def __init__(
        self,
        entries: dict[str, GraphEntry],
        *,
        source: Path | None = None,
        store_config: dict[str, Any] | None = None,
    ) -> None:
        self._entries = entries
        self.source = source
        self.store_config = store_config
        """The langgraph.json `store` section (semantic `index`, `ttl`), as written."""
        self._bound: dict[str, CompiledGraph] = {}
        self._checkpointer: BaseCheckpointSaver[Any] | None = None
        self._store: BaseStore | None = None
        self._deps: RunnableConfig = Deps().bind()

    @classmethod
    def load(cls, path: Path) -> GraphRegistry:
        """Read `path` and import every graph in it; raise ConfigError naming what is wrong."""
        config = read_config(path)
        base = path.resolve().parent
        for dep in config.get("dependencies", []):
            if isinstance(dep, str) and (dep.startswith(".") or dep.startswith("/")):
                folder = str((base / dep).resolve())
                if folder not in sys.path:
                    sys.path.insert(0, folder)
        _apply_env(config.get("env"), base)
        entries = {}
        for graph_id, spec in config["graphs"].items():
            target = _import_graph(graph_id, spec, base)
            call = (
                None if isinstance(target, Pregel | StateGraph) else factory_call(target, graph_id)
            )
            entries[graph_id] = GraphEntry(graph_id, spec, target, call)
        store = config.get("store")
        if store is not None and not isinstance(store, dict):
            raise ConfigError(f'{path}: "store" must be an object like {{"index": {{...}}}}')
        return cls(entries, source=path, store_config=store)

    def bind(
        self,
        checkpointer: BaseCheckpointSaver[Any],
        store: BaseStore | None,
        deps: Deps | None = None,
    ) -> None:
        """Attach the server's checkpointer, store and deps to every graph."""
        self._checkpointer = checkpointer
        self._store = store
        self._deps = (deps or Deps()).bind()
        self._bound = {
            gid: self._attach(entry.target, gid)
            for gid, entry in self._entries.items()
            if entry.call is None
        }

    def ids(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, graph_id: object) -> bool:
        return graph_id in self._entries

    def entry(self, graph_id: str) -> GraphEntry:
        try:
            return self._entries[graph_id]
        except KeyError:
            raise InvalidInput(
                f"graph {graph_id!r} is not registered; registered graphs: {', '.join(self.ids())}"
            ) from None

    @asynccontextmanager
    async def open(
        self,
        graph_id: str,
        config: RunnableConfig | None = None,
        *,
        access: AccessContext = "threads.read",
        context: Any = None,
    ) -> AsyncIterator[CompiledGraph]:
        """The graph bound to the server's checkpointer, for the `async with` block's length.

        A factory is called now, with the config merged over the deps and a `ServerRuntime`
        for `access` (carrying `context` when the graph is run); a context manager it returns
        is entered here and left when the block ends.
        """
        entry = self.entry(graph_id)
        if entry.call is None:
            yield self._bound[graph_id]
            return
        runtime = _server_runtime(access, self._store, context)
        try:
            made = entry.call(merge_configs(config, self._deps), runtime)
        except Exception as exc:
            raise GraphUnavailable(graph_id, exc) from exc
        async with _entered(made, graph_id) as graph:
            yield self._attach(graph, graph_id, what=f"factory of graph {graph_id!r}")

    def _attach(self, graph: Any, graph_id: str, what: str = "graph") -> CompiledGraph:
        update: dict[str, Any] = {"checkpointer": self._checkpointer, "store": self._store}
        if isinstance(graph, StateGraph):
            graph = graph.compile()
        if isinstance(graph, Pregel):
            # A graph left with LangGraph's default name takes its id, as on the LangGraph
            # server: the root run of `events` streams and traces is named after it.
            if graph.name == "LangGraph":
                update["name"] = graph_id
            compiled: CompiledGraph = graph.copy(update=update)
        else:
            raise ConfigError(f"{what} returned {type(graph).__name__}, not a LangGraph graph")
        # The graph's own config is merged under every run's, so each node sees the deps
        # (Pregel.with_config returns a Pregel copy; the graph given is left as it was).
        return compiled.with_config(self._deps)


def read_config(path: Path) -> dict[str, Any]:
    """Parse and check a langgraph.json; raise ConfigError with the file and the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read graph config {path}: {exc.strerror}") from exc
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: expected a JSON object, got {type(config).__name__}")
    graphs = config.get("graphs")
    if not isinstance(graphs, dict) or not graphs:
        raise ConfigError(f'{path}: "graphs" must be a non-empty object of graph id -> "path:attr"')
    for graph_id, spec in graphs.items():
        if isinstance(spec, dict):  # {"path": ..., "description": ...} form
            spec = spec.get("path")
            graphs[graph_id] = spec
        if not isinstance(spec, str) or ":" not in spec:
            raise ConfigError(
                f'{path}: graph {graph_id!r} must be "./file.py:attr" or "module:attr", got {spec!r}'
            )
    deps = config.get("dependencies", [])
    if not isinstance(deps, list):
        raise ConfigError(f'{path}: "dependencies" must be a list')
    return config


def _apply_env(env: Any, base: Path) -> None:
    if env is None:
        return
    if isinstance(env, dict):
        for key, value in env.items():
            os.environ.setdefault(str(key), str(value))
        return
    if isinstance(env, str):
        env_path = base / env
        if not env_path.is_file():
            raise ConfigError(f'"env" names {env_path}, which does not exist')
        from dotenv import dotenv_values

        for key, value in dotenv_values(env_path).items():
            if value is not None:
                os.environ.setdefault(key, value)
        return
    raise ConfigError('"env" must be an object or the path of a .env file')


def load_attr(spec: str, base: Path, what: str, module_name: str) -> Any:
    """Import `./file.py:attr` (relative to `base`) or `module:attr`; ConfigError naming `what`."""
    location, _, attr = spec.rpartition(":")
    try:
        if location.endswith(".py") or location.startswith((".", "/")):
            file = (base / location).resolve()
            if not file.is_file():
                raise ConfigError(f"{what}: file {file} does not exist")
            module_spec = importlib.util.spec_from_file_location(module_name, file)
            if module_spec is None or module_spec.loader is None:
                raise ConfigError(f"{what}: cannot load {file}")
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[module_name] = module
            module_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(location)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(
            f"{what}: importing {location} failed: {type(exc).__name__}: {exc}"
        ) from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ConfigError(f"{what}: {location} has no attribute {attr!r}") from None


def _import_graph(graph_id: str, spec: str, base: Path) -> Any:
    target = load_attr(spec, base, f"graph {graph_id!r}", f"agent_ops_graphs.{graph_id}")
    if not isinstance(target, Pregel | StateGraph) and not callable(target):
        raise ConfigError(
            f"graph {graph_id!r}: {spec} is a {type(target).__name__}, not a graph or factory"
        )
    return target


class GraphUnavailable(ConfigError):
    """A graph factory failed: the use it was called for (a run, a state read) cannot go on."""

    def __init__(self, graph_id: str, exc: BaseException) -> None:
        super().__init__(f"factory of graph {graph_id!r} failed: {type(exc).__name__}: {exc}")


@asynccontextmanager
async def _entered(made: Any, graph_id: str) -> AsyncIterator[Any]:
    """What a factory returned, entered when it is a context manager, awaited when awaitable.

    Entering it or leaving it after the block ran raises GraphUnavailable naming the graph; an
    exception of the block's own passes through the context manager unchanged."""
    stack = AsyncExitStack()
    try:
        if hasattr(made, "__aenter__") and hasattr(made, "__aexit__"):
            graph = await stack.enter_async_context(made)
        elif hasattr(made, "__enter__") and hasattr(made, "__exit__"):
            graph = stack.enter_context(made)
        else:
            graph = await made if inspect.isawaitable(made) else made
    except Exception as exc:
        raise GraphUnavailable(graph_id, exc) from exc
    async with stack:  # the block's own exception reaches the context manager as it is
        yield graph
        try:
            await stack.aclose()
        except Exception as exc:
            raise GraphUnavailable(graph_id, exc) from exc


# Names a factory's annotations may use without importing them at run time.
_ANNOTATION_NAMES: dict[str, Any] = {
    "ServerRuntime": ServerRuntime,
    "RunnableConfig": RunnableConfig,
}


def factory_call(factory: Callable[..., Any], graph_id: str) -> FactoryCall:
    """How to call `factory`, from its parameters as the LangGraph server reads them: none; one
    (a `ServerRuntime` when annotated so, else the config); or both, by name, in either order.
    ConfigError naming the graph for any other signature."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"graph {graph_id!r}: cannot read the factory's parameters: {exc}"
        ) from exc
    params = [
        p for p in signature.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    try:
        hints = typing.get_type_hints(factory, localns=_ANNOTATION_NAMES)
    except Exception:  # an annotation that does not resolve: read it as written
        hints = {}
    runtime_params = [p for p in params if _is_runtime(hints.get(p.name, p.annotation))]
    if not params:
        return lambda config, runtime: factory()
    if len(params) == 1:
        (only,) = params
        if runtime_params:
            return lambda config, runtime: factory(**{only.name: runtime})
        return lambda config, runtime: factory(**{only.name: config})
    if len(params) == 2 and len(runtime_params) == 1:
        (rt,) = runtime_params
        (cfg,) = [p for p in params if p is not rt]
        return lambda config, runtime: factory(**{rt.name: runtime, cfg.name: config})
    raise ConfigError(
        f"graph {graph_id!r}: a factory takes no argument, the config, a ServerRuntime, or the "
        f"config and a ServerRuntime; {factory.__name__} takes {[p.name for p in params]}"
    )


def _is_runtime(annotation: Any) -> bool:
    """Whether an annotation names LangGraph's `ServerRuntime` (or one of its two forms)."""
    if annotation is inspect.Parameter.empty:
        return False
    if isinstance(annotation, str):
        return annotation.split("[", 1)[0].strip().split(".")[-1] == "ServerRuntime"
    if annotation is ServerRuntime:
        return True
    if isinstance(annotation, type):
        return issubclass(annotation, _ExecutionRuntime | _ReadRuntime)
    origin = typing.get_origin(annotation)
    if origin is ServerRuntime:
        return True
    args = typing.get_args(annotation)
    return origin is typing.Annotated and bool(args) and _is_runtime(args[0])


def _server_runtime(access: AccessContext, store: BaseStore | None, context: Any) -> Any:
    """The `ServerRuntime` a factory gets: `context` only when the graph is to be run."""
    identity = caller()
    user = None if identity is None else RuntimeUser(identity)
    if access == "threads.create_run":
        return _ExecutionRuntime(
            access_context=access,
            user=user,
            store=store,  # type: ignore[arg-type]
            context=copy.copy(context),
        )
    return _ReadRuntime(access_context=access, user=user, store=store)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class RuntimeUser:
    """The caller as LangGraph's `BaseUser` (what `ServerRuntime.user` is)."""

    who: Identity

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.who.display_name or self.who.subject

    @property
    def identity(self) -> str:
        return self.who.subject

    @property
    def permissions(self) -> list[str]:
        return [f"role:{self.who.role}"]

    def _fields(self) -> dict[str, Any]:
        return {
            "identity": self.identity,
            "display_name": self.display_name,
            "is_authenticated": True,
            "permissions": self.permissions,
            "tenant": self.who.tenant,
            "role": self.who.role,
        }

    def __getitem__(self, key: str) -> Any:
        return self._fields()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._fields()

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields())
