"""The graph registry: loads a langgraph.json (LangGraph CLI format) and hands out runnable graphs.

Graph specs are `./path/to/file.py:attr` (relative to the json file) or `package.module:attr`;
`attr` may be a compiled graph, an uncompiled `StateGraph`, or a factory called per run (with the
run's config when it takes an argument; sync or async). Every graph is bound to the server's
checkpointer and store, replacing whatever it was compiled with, and to the runtime's `Deps`
(in its config), so a user's own graph reaches the same models and connectors as the shipped
ones, and two runtimes in one process each hand out their own.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import os
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import merge_configs
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import StateGraph
from langgraph.pregel import Pregel
from langgraph.store.base import BaseStore

from agent_ops.deps import Deps
from agent_ops.errors import ConfigError, InvalidInput

# The namespace the LangGraph server derives default assistant ids from, so ids match it.
_ASSISTANT_NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")


CompiledGraph: TypeAlias = Pregel[Any, Any, Any, Any]
"""A compiled graph of any state, context, input and output: what the registry hands out."""


def default_assistant_id(graph_id: str) -> str:
    """Return the stable id of the default assistant of `graph_id`."""
    return str(uuid.uuid5(_ASSISTANT_NAMESPACE, graph_id))


@dataclass(frozen=True, slots=True)
class GraphEntry:
    graph_id: str
    spec: str
    target: Any
    """A compiled graph, or a factory returning one."""

    @property
    def is_factory(self) -> bool:
        return not isinstance(self.target, Pregel)


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
        entries = {
            graph_id: GraphEntry(graph_id, spec, _import_graph(graph_id, spec, base))
            for graph_id, spec in config["graphs"].items()
        }
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
            if not entry.is_factory
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

    async def get(self, graph_id: str, config: RunnableConfig | None = None) -> CompiledGraph:
        """Return the graph bound to the server's checkpointer (factories are called per use)."""
        entry = self.entry(graph_id)
        if not entry.is_factory:
            return self._bound[graph_id]
        # A factory gets the deps too, so it can build its graph from them.
        made = _call_factory(entry.target, merge_configs(config, self._deps))
        if inspect.isawaitable(made):
            made = await made
        return self._attach(made, graph_id, what=f"factory of graph {graph_id!r}")

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


def _call_factory(factory: Callable[..., Any], config: RunnableConfig) -> Any:
    params = [
        p
        for p in inspect.signature(factory).parameters.values()
        if p.default is inspect.Parameter.empty
        and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return factory(config) if params else factory()
