"""Graph factories as the LangGraph server calls them (tests/graphs/factories): with nothing,
the config, a `ServerRuntime` or both; returning a graph, an awaitable or a context manager
that stays open while the graph is used; a factory that fails ends its run in error.

What each use passes was read from `langgraph dev` (langgraph-api 0.16.7) on the same graphs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph_sdk import get_client

from agent_ops.errors import ConfigError
from agent_ops.runtime import GraphRegistry, GraphUnavailable
from tests.servers import BACKENDS, AgentOpsProcess, new_server, serving

FACTORIES = Path(__file__).parents[1] / "graphs" / "factories" / "langgraph.json"
WORKING = ("uncompiled", "plain", "with_config", "with_runtime", "both")
CONTEXT_MANAGERS = ("async_resource", "sync_resource")


@pytest.fixture(scope="module", params=BACKENDS)
def factory_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[AgentOpsProcess, Path]]:
    log = tmp_path_factory.mktemp("factory-log") / "calls.jsonl"
    server = new_server(
        tmp_path_factory, "factories", {"FACTORY_LOG": str(log)}, request=request, config=FACTORIES
    )
    with serving(server) as started:
        yield started, log


def _calls(log: Path) -> list[dict[str, Any]]:
    """The factories' notes so far, and a clean slate for the next."""
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    log.write_text("", encoding="utf-8")
    return [json.loads(line) for line in lines]


async def test_every_factory_form_runs(factory_server: tuple[AgentOpsProcess, Path]) -> None:
    server, log = factory_server
    client = get_client(url=server.url)
    for graph_id in WORKING + CONTEXT_MANAGERS:
        assert await client.runs.wait(None, graph_id, input={"x": 1}) == {"x": 2}, graph_id
    _calls(log)


async def test_a_factory_gets_a_server_runtime_naming_each_use(
    factory_server: tuple[AgentOpsProcess, Path],
) -> None:
    server, log = factory_server
    client = get_client(url=server.url)
    _calls(log)
    thread = (await client.threads.create())["thread_id"]
    await client.runs.wait(thread, "with_runtime", input={"x": 1}, context={"k": 2})
    ran = _calls(log)
    assert ran == [
        {
            "factory": "with_runtime",
            "access": "threads.create_run",
            "context": {"k": 2},
            "has_store": True,
        }
    ]
    await client.threads.get_state(thread)
    assert [c["access"] for c in _calls(log)] == ["threads.read"]
    await client.threads.update_state(thread, {"x": 9})
    # The official server reads the state back through a second `threads.read` call; ours
    # reads it with the graph it updated through.
    assert [c["access"] for c in _calls(log)][:1] == ["threads.update"]
    assistant = (await client.assistants.search(graph_id="with_runtime"))[0]
    await client.assistants.get_graph(assistant["assistant_id"])
    calls = _calls(log)
    assert [c["access"] for c in calls] == ["assistants.read"]
    assert all(c["context"] is None for c in calls)  # a run's context only when it runs

    await client.runs.wait(None, "both", input={"x": 1}, context={"k": 3})
    (both,) = _calls(log)
    assert both["graph_id"] == "both" and both["context"] == {"k": 3}


async def test_a_context_manager_factory_is_left_after_the_run(
    factory_server: tuple[AgentOpsProcess, Path],
) -> None:
    server, log = factory_server
    client = get_client(url=server.url)
    _calls(log)
    for graph_id in CONTEXT_MANAGERS:
        await client.runs.wait(None, graph_id, input={"x": 1})
        events = [c["event"] for c in _calls(log)]
        assert events == ["enter", "exit"], graph_id


@pytest.mark.parametrize(
    ("graph_id", "kind", "says"),
    [
        ("failing", "RuntimeError", "the model catalogue is unreachable"),
        ("failing_on_exit", "RuntimeError", "the connection pool would not close"),
    ],
)
async def test_a_factory_that_fails_ends_the_run_in_error_naming_why(
    factory_server: tuple[AgentOpsProcess, Path], graph_id: str, kind: str, says: str
) -> None:
    """Not a run left claimed until its lease runs out, retried, and left again."""
    server, _ = factory_server
    client = get_client(url=server.url)
    thread = (await client.threads.create())["thread_id"]
    run = await client.runs.create(thread, graph_id, input={"x": 1})
    joined = await client.runs.join(thread, run["run_id"])
    assert joined["__error__"]["error"] == kind
    assert says in joined["__error__"]["message"]
    assert f"graph {graph_id!r}" in joined["__error__"]["message"]
    assert (await client.runs.get(thread, run["run_id"]))["status"] == "error"
    assert (await client.threads.get(thread))["status"] == "error"
    # And the server goes on serving.
    assert await client.runs.wait(None, "plain", input={"x": 4}) == {"x": 5}


async def test_a_factory_is_left_when_the_use_fails_and_its_exception_passes_through(
    tmp_path: Path,
) -> None:
    registry = GraphRegistry.load(FACTORIES)
    registry.bind(InMemorySaver(), None)
    log = tmp_path / "calls.jsonl"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACTORY_LOG", str(log))
        with pytest.raises(KeyError, match="inside"):
            async with registry.open("async_resource", access="threads.read"):
                raise KeyError("inside")
        assert [c["event"] for c in _calls(log)] == ["enter", "exit"]
        with pytest.raises(GraphUnavailable, match="failing.*model catalogue"):
            async with registry.open("failing"):
                pass


def test_a_factory_of_another_signature_is_refused_at_load_naming_the_graph(
    tmp_path: Path,
) -> None:
    (tmp_path / "odd.py").write_text(
        "def make(a, b, c):\n    raise AssertionError('never called')\n", encoding="utf-8"
    )
    config = tmp_path / "langgraph.json"
    config.write_text(json.dumps({"graphs": {"odd": "./odd.py:make"}}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"graph 'odd'.*\['a', 'b', 'c'\]"):
        GraphRegistry.load(config)
