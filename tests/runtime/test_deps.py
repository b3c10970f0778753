"""What graphs get per run (`agent_ops.deps`): each runtime binds its own deps into its graphs,
a user's own graph reads them through a real server, and a client cannot send them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.messages import BaseMessage
from langgraph_sdk import get_client

from agent_ops.deps import DEPS_KEY, Deps, deps_for
from agent_ops.errors import ConfigError
from agent_ops.models import MemoryDecisions, Models, ModelsConfig
from agent_ops.runtime import GraphRegistry, RunOptions, RunRequest, Runtime
from agent_ops.settings import Settings
from agent_ops.storage import create_storage
from tests.models.fakes import scripted_chat
from tests.servers import TEST_GRAPHS, AgentOpsProcess


@pytest.fixture
def other_database_url(database_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A second fresh database of the same backend, for a second runtime."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path}/other.db"
    cluster = request.getfixturevalue("pg_cluster")
    url: str = cluster.create_database(f"other_{uuid.uuid4().hex}")
    return url


def _models(answer: str) -> tuple[Models, MemoryDecisions]:
    """A model layer whose `respond` role is a rule answering `answer`."""
    config = ModelsConfig.model_validate({"roles": {"respond": {"providers": ["rules:fixed"]}}})
    sink = MemoryDecisions()
    models = Models(config, Settings(), sink)

    def fixed(messages: Sequence[BaseMessage]) -> str:
        return answer

    models.register_rule("fixed", fixed)
    return models, sink


def _runtime(url: str, deps: Deps | None) -> Runtime:
    settings = Settings(database_url=url, workers=1, poll_seconds=0.1, config=TEST_GRAPHS)
    registry = GraphRegistry.load(TEST_GRAPHS)
    return Runtime(settings, create_storage(url), registry, deps=deps)


async def _ask(runtime: Runtime, question: str) -> Any:
    request = RunRequest("deps", RunOptions(input={"question": question}))
    return await runtime.runs.create_and_wait(None, request)


async def test_two_runtimes_in_one_process_each_give_their_graphs_their_own_deps(
    database_url: str, other_database_url: str
) -> None:
    models_a, decisions_a = _models("from A")
    models_b, decisions_b = _models("from B")
    first = _runtime(database_url, Deps(models=models_a, public_url="https://a.example.test"))
    second = _runtime(other_database_url, Deps(models=models_b, public_url="https://b.example"))
    await first.start()
    await second.start()
    try:
        runs = [await _ask(first, "who?"), await _ask(second, "who?"), await _ask(first, "again")]
    finally:
        await first.stop()
        await second.stop()
    assert [run.status for run in runs] == ["success"] * 3, [run.error for run in runs]
    assert [(run.output["answer"], run.output["public_url"]) for run in runs] == [
        ("from A", "https://a.example.test"),
        ("from B", "https://b.example"),
        ("from A", "https://a.example.test"),
    ]
    assert [d.provider for d in decisions_a.decisions] == ["rules:fixed"] * 2
    assert [d.provider for d in decisions_b.decisions] == ["rules:fixed"]
    assert {d.run_id for d in decisions_a.decisions} == {runs[0].run_id, runs[2].run_id}


async def test_a_run_without_models_fails_naming_what_is_missing_and_how_to_provide_it(
    database_url: str,
) -> None:
    runtime = _runtime(database_url, Deps(public_url="https://ops.example.test"))
    await runtime.start()
    try:
        run = await _ask(runtime, "anyone?")
    finally:
        await runtime.stop()
    assert run.status == "error"
    assert run.error is not None
    assert "this run has no models" in run.error and "AGENT_OPS_MODELS_CONFIG" in run.error


def test_deps_for_outside_a_run_says_to_pass_the_config_and_a_foreign_value_is_refused() -> None:
    with pytest.raises(ConfigError, match="outside a graph run"):
        deps_for()
    assert deps_for({"configurable": {}}) == Deps()
    with pytest.raises(ConfigError, match=f"configurable.{DEPS_KEY} is a dict"):
        deps_for({"configurable": {DEPS_KEY: {"models": "mine"}}})
    with pytest.raises(ConfigError, match="this run has no connectors: set AGENT_OPS_CONNECTORS"):
        Deps().need("connectors")


@pytest.fixture
def server_with_deps(database_url: str, tmp_path: Path) -> Any:
    """`agent-ops serve` on the test graphs, with a models config whose `respond` role is a
    scripted endpoint, a connectors config naming a Tryton, and a public URL."""
    with scripted_chat(["Parcel 42 left the warehouse today."]) as chat:
        models = tmp_path / "models.yaml"
        models.write_text(
            json.dumps(
                {
                    "roles": {"respond": {"providers": ["openai:scripted"], "retries": 0}},
                    "providers": {"openai:scripted": {"base_url": chat.url, "model": "scripted"}},
                }
            )
        )
        connectors = tmp_path / "connectors.yaml"
        connectors.write_text(
            json.dumps(
                {
                    "tryton": {
                        "url": "http://erp.example.test:8000/",
                        "database": "acme",
                        "api_key": "k",
                    }
                }
            )
        )
        server = AgentOpsProcess(
            database_url,
            tmp_path,
            env={
                "AGENT_OPS_MODELS_CONFIG": str(models),
                "AGENT_OPS_CONNECTORS_CONFIG": str(connectors),
                "AGENT_OPS_PUBLIC_URL": "https://ops.example.test/",
            },
            name="deps",
        ).start()
        try:
            yield server, chat
        finally:
            server.stop()


async def test_a_users_own_graph_reads_the_servers_deps_and_a_client_cannot_send_them(
    server_with_deps: Any,
) -> None:
    server, chat = server_with_deps
    client = get_client(url=server.url)
    done = await client.runs.wait(None, "deps", input={"question": "Where is parcel 42?"})
    assert done == {
        "question": "Where is parcel 42?",
        "answer": "Parcel 42 left the warehouse today.",
        "public_url": "https://ops.example.test",
        "erp_database": "acme",
    }
    assert chat.requests[0]["messages"][-1]["content"] == "Where is parcel 42?"

    injected = {"configurable": {DEPS_KEY: {"models": None}, "user": "x"}}
    with pytest.raises(httpx.HTTPStatusError) as refused:
        await client.runs.wait(None, "deps", input={"question": "?"}, config=injected)
    assert refused.value.response.status_code == 422
    assert f"config.configurable.{DEPS_KEY} is not allowed" in refused.value.response.text
    with pytest.raises(httpx.HTTPStatusError) as refused:
        await client.assistants.create("deps", config=injected)
    assert refused.value.response.status_code == 422
    assert DEPS_KEY in refused.value.response.text
    assert len(chat.requests) == 1  # nothing ran for the refused requests


async def test_checkpoint_and_debug_events_carry_no_deps(server_with_deps: Any) -> None:
    """LangGraph copies the run's whole configurable into the configs these modes stream."""
    server, _ = server_with_deps
    client = get_client(url=server.url)
    thread_id = (await client.threads.create())["thread_id"]
    parts = [
        part
        async for part in client.runs.stream(
            thread_id,
            "approve",
            input={"messages": [{"role": "user", "content": "pay 5?"}]},
            stream_mode=["checkpoints", "debug"],
        )
    ]
    checkpoints = [part.data for part in parts if part.event == "checkpoints"]
    assert checkpoints
    assert {c["config"]["configurable"]["thread_id"] for c in checkpoints} == {thread_id}
    streamed = json.dumps([part.data for part in parts])
    assert DEPS_KEY not in streamed and "erp.example.test" not in streamed
