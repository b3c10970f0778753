"""The decision log through the API, on both backends: a real `agent-ops serve` whose graphs call
model roles (primary endpoint down, SmolLM2 as fallback; or nothing up, so a person answers),
driven only through the official langgraph-sdk."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client

from tests.models.fakes import closed_port
from tests.servers import AgentOpsProcess

pytestmark = pytest.mark.llama

GRAPHS = Path(__file__).parent / "graphs" / "langgraph.json"
PROMPTS = Path(__file__).parents[2] / "prompts"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def model_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AgentOpsProcess]:
    folder = tmp_path_factory.mktemp(f"models-{request.param}")
    if request.param == "postgres":
        url = request.getfixturevalue("pg_cluster").create_database(f"m_{uuid.uuid4().hex}")
    else:
        url = f"sqlite:///{folder}/agent-ops.db"
    config = folder / "models.yaml"
    config.write_text(
        "roles:\n"
        "  respond:\n"
        '    providers: ["openai:primary", "local:smollm2"]\n'
        "    prompt: respond\n"
        "    retries: 0\n"
        "  judge:\n"
        '    providers: ["openai:primary"]\n'
        "    retries: 0\n"
        "providers:\n"
        f"  openai:primary: {{base_url: 'http://127.0.0.1:{closed_port()}/v1', model: gpt-4o}}\n"
        "  local:smollm2: {max_tokens: 24, temperature: 0}\n"
    )
    server = AgentOpsProcess(
        url,
        folder,
        config=GRAPHS,
        env={"AGENT_OPS_MODELS_CONFIG": str(config), "AGENT_OPS_PROMPTS_DIR": str(PROMPTS)},
        name=f"models-{request.param}",
    )
    server.start()
    yield server
    server.stop()


async def test_fallback_streams_local_tokens_and_the_run_lists_both_decisions(
    model_server: AgentOpsProcess,
) -> None:
    client = get_client(url=model_server.url)
    thread = await client.threads.create()
    tokens: list[str] = []
    run_id = None
    async for part in client.runs.stream(
        thread["thread_id"],
        "model_reply",
        input={"messages": [{"role": "user", "content": "Where is my parcel?"}]},
        stream_mode="messages-tuple",
    ):
        if part.event == "metadata":
            run_id = part.data["run_id"]
        elif part.event == "messages":
            chunk, meta = part.data
            assert meta["langgraph_node"] == "respond"
            if chunk["content"]:
                tokens.append(chunk["content"])
    assert run_id is not None
    assert len(tokens) > 3, "SmolLM2's answer streamed token by token"

    decisions: list[dict[str, Any]] = await client.http.get(
        f"/threads/{thread['thread_id']}/runs/{run_id}/decisions"
    )
    failed, answered = decisions
    assert (failed["provider"], failed["model"], failed["output"]) == (
        "openai:primary",
        "gpt-4o",
        None,
    )
    assert "ConnectionError" in failed["error"]
    assert failed["error_kind"] == "connection_refused"
    assert failed["error"].startswith("connection refused: ")
    assert (answered["provider"], answered["model"], answered["error"]) == (
        "local:smollm2",
        "smollm2",
        None,
    )
    assert answered["output"]["content"] == "".join(tokens)
    for d in decisions:
        assert (d["run_id"], d["thread_id"]) == (run_id, thread["thread_id"])
        assert d["prompt"] == {"name": "respond", "version": "v1"}
        assert d["role"] == "respond" and len(d["input_hash"]) == 64
    assert failed["input_hash"] == answered["input_hash"]
    assert answered["error_kind"] is None
    for d in decisions:
        # Where each attempt's time went: waiting for its turn, then generating.
        assert d["queue_ms"] is not None and d["generation_ms"] is not None
        assert d["queue_ms"] + d["generation_ms"] <= d["latency_ms"] + 1
    assert answered["latency_ms"] > 0 and answered["cost_usd"] == 0.0
    # Streamed, SmolLM2's answer came without usage: agent-ops counted its tokens.
    assert answered["tokens"]["source"] == "counted"
    assert answered["tokens"]["input"] > 10 and answered["tokens"]["output"] > 3
    assert failed["tokens"] == {"input": 0, "output": 0, "source": "none"}


async def test_with_every_provider_down_a_person_answers_and_is_logged(
    model_server: AgentOpsProcess,
) -> None:
    client = get_client(url=model_server.url)
    thread = await client.threads.create()
    paused = await client.runs.wait(
        thread["thread_id"],
        "model_review",
        input={"messages": [{"role": "user", "content": "Is this reply OK to send?"}]},
    )
    (request,) = paused["__interrupt__"]
    assert request["value"]["type"] == "model_review"
    assert "openai:primary" in request["value"]["reason"]

    run = await client.runs.create(
        thread["thread_id"], "model_review", command={"resume": "Yes, send it."}
    )
    done = await client.runs.join(thread["thread_id"], run["run_id"])
    assert done["messages"][-1]["content"] == "Yes, send it."
    decisions = await client.http.get(
        f"/threads/{thread['thread_id']}/runs/{run['run_id']}/decisions"
    )
    assert [(d["provider"], d["error"] is None) for d in decisions] == [
        ("openai:primary", False),  # the node re-runs on resume and tries the provider again
        ("human:review", True),
    ]


async def test_decisions_of_an_unknown_run_are_a_404(model_server: AgentOpsProcess) -> None:
    client = get_client(url=model_server.url)
    thread = await client.threads.create()
    run_id = uuid.uuid4()
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await client.http.get(f"/threads/{thread['thread_id']}/runs/{run_id}/decisions")
    assert caught.value.response.status_code == 404
    assert str(run_id) in caught.value.response.json()["detail"]
