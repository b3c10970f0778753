"""Run the tool-calling agent (agent.py) through a runtime: its tools given as the run's
connectors, its model a scripted chat endpoint, started by a clerk of tenant acme."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.tools import BaseTool

from agent_ops.deps import Deps
from agent_ops.governance import Identity, audit, bind_caller
from agent_ops.runtime import GraphRegistry, RunOptions, RunRequest, Runtime
from agent_ops.settings import Settings
from agent_ops.storage import AuditRecord, Run, create_storage
from tests.models.fakes import Answer, ScriptedChat, scripted_chat

GRAPHS = Path(__file__).parent / "langgraph.json"
CLERK = Identity(tenant="acme", subject="key:clerk", role="operator", via="key")
MARIA = Identity(tenant="acme", subject="key:maria", role="approver", via="key")


@dataclass(frozen=True)
class AgentKit:
    """The agent graph's connectors (agent.py reads these)."""

    tools: list[BaseTool]
    chat_url: str


def tool_call(name: str, arguments: dict[str, Any], call_id: str) -> dict[str, Any]:
    """An assistant message asking for one tool call, as a chat endpoint answers it."""
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
        ],
    }


@asynccontextmanager
async def agent_runtime(
    database_url: str, tools: list[BaseTool], chat: ScriptedChat, **settings: Any
) -> AsyncIterator[Runtime]:
    """A started runtime of the agent graphs with `tools` and `chat` as their connectors."""
    runtime = Runtime(
        Settings(database_url=database_url, workers=1, poll_seconds=0.1, config=GRAPHS, **settings),
        create_storage(database_url),
        GraphRegistry.load(GRAPHS),
        deps=Deps(connectors=AgentKit(tools, chat.url)),
    )
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


async def run_as(
    identity: Identity, runtime: Runtime, thread_id: str | None, request: RunRequest
) -> Run:
    """Queue `request` as `identity` (who the run then acts for) and wait for its end."""
    bind_caller(identity)
    try:
        return await runtime.runs.create_and_wait(thread_id, request)
    finally:
        bind_caller(None)


async def trail_of(runtime: Runtime) -> list[AuditRecord]:
    return [row async for row in audit.read(runtime.storage, tenant_id="acme")]


async def run_agent(
    database_url: str,
    graph_id: str,
    email: str,
    tools: list[BaseTool],
    script: list[Answer],
    tool_allow: dict[str, list[str]],
) -> tuple[Run, list[AuditRecord], ScriptedChat]:
    """Run `graph_id` once on `email`, its model answering `script`, as the clerk of acme;
    return the run, acme's audit trail and the chat endpoint (with the requests it got)."""
    with scripted_chat(script) as chat:
        async with agent_runtime(database_url, tools, chat, tool_allow=tool_allow) as runtime:
            request = RunRequest(graph_id, RunOptions(input={"email": email}))
            done = await run_as(CLERK, runtime, None, request)
            trail = await trail_of(runtime)
    return done, trail, chat
