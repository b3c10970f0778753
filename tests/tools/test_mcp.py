"""The MCP connector against a real FastMCP server (tests/tools/mcp_server.py), over stdio (one
kept child process) and streamable HTTP on a loopback port; servers that die or restart between
and during calls; and a LangGraph graph whose ToolNode calls an MCP tool chosen by a scripted chat
model."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from langchain_openai import ChatOpenAI
from pydantic import ValidationError

from agent_ops.errors import ConfigError, ConnectorRejected, ConnectorUnavailable
from tests.models.fakes import closed_port, scripted_chat
from tests.tools.tool_agent import tool_agent, tool_call
from tools.mcp import MCPConfig, MCPServer, MCPSessions, close_mcp_sessions, mcp_tools

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = ["add", "meet", "record_note", "record_note_slowly", "refuse", "wait", "whoami"]


@pytest.fixture(scope="module")
def notes_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mcp-notes")


class HttpServer:
    """The test server as a child process on a free loopback port, streamable HTTP at /mcp."""

    def __init__(self, notes: Path) -> None:
        self._port = closed_port()
        self._notes = notes
        self.url = f"http://127.0.0.1:{self._port}/mcp"
        self._start()

    def restart(self) -> None:
        """Stop the server and start a new one on the same port (it knows no sessions)."""
        self.stop()
        self._start()

    def _start(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.tools.mcp_server", "http", "--port", str(self._port)],
            cwd=ROOT,
            env={"MCP_NOTES_FILE": str(self._notes), "PATH": "/usr/bin:/bin"},
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self._port), timeout=0.5).close()
                return
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("the MCP test server did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)


@pytest.fixture(scope="module")
def http_server(notes_dir: Path) -> Iterator[str]:
    server = HttpServer(notes_dir / "http.txt")
    yield server.url
    server.stop()


@pytest.fixture
def doomed_server(notes_dir: Path) -> Iterator[HttpServer]:
    """A server of its own, which the test stops."""
    server = HttpServer(notes_dir / "doomed.txt")
    yield server
    server.stop()


Server = Callable[..., dict[str, Any]]


@pytest.fixture(params=["stdio", "http"])
def server(request: pytest.FixtureRequest, notes_dir: Path) -> Server:
    """Build the `test` server's config for this transport, with overrides."""
    if request.param == "http":
        url = request.getfixturevalue("http_server")
        return _builder({"transport": "http", "url": url}, notes_dir / "http.txt")
    return _stdio_builder(notes_dir)


@pytest.fixture
def stdio(notes_dir: Path) -> Server:
    """Build the `test` server's config over stdio, with overrides."""
    return _stdio_builder(notes_dir)


def _stdio_builder(notes_dir: Path) -> Server:
    notes = notes_dir / "stdio.txt"
    base = {
        "transport": "stdio",
        "command": sys.executable,
        "args": ["-m", "tests.tools.mcp_server", "stdio"],
        "cwd": str(ROOT),
        "env": {"MCP_NOTES_FILE": str(notes)},
    }
    return _builder(base, notes)


def _builder(base: dict[str, Any], notes: Path) -> Server:
    def build(**overrides: Any) -> dict[str, Any]:
        return {**base, "allowed_tools": ALLOWED, "backoff": 0, "notes": notes, **overrides}

    return build


@pytest.fixture
async def sessions() -> AsyncIterator[MCPSessions]:
    async with MCPSessions() as kept:
        yield kept


def _config(server_config: dict[str, Any]) -> MCPConfig:
    server_config = {k: v for k, v in server_config.items() if k != "notes"}
    return MCPConfig.model_validate({"servers": {"test": server_config}})


async def _tools(server_config: dict[str, Any], sessions: MCPSessions) -> dict[str, BaseTool]:
    return {tool.name: tool for tool in await mcp_tools(_config(server_config), sessions)}


async def _whoami(tools: dict[str, BaseTool]) -> dict[str, int]:
    blocks = await tools["test_whoami"].ainvoke({})
    answer: dict[str, int] = json.loads(blocks[0]["text"])
    return answer


def _running(pid: int) -> bool:
    """Whether the process exists and is not a zombie waiting to be reaped."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def _children() -> set[int]:
    """This test process's child processes."""
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            children.add(int(stat.parent.name))
    return children


async def _kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _running(pid):
        assert time.monotonic() < deadline, f"process {pid} outlived SIGKILL"
        await asyncio.sleep(0.05)


def _count_notes(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


async def test_allowed_tools_are_listed_and_marked_by_annotations_or_config(
    server: Server, sessions: MCPSessions
) -> None:
    tools = await _tools(server(effects={"refuse": "write"}), sessions)
    assert sorted(tools) == [f"test_{name}" for name in ALLOWED]
    assert tools["test_add"].metadata is not None
    assert tools["test_add"].metadata["effect"] == "read"  # readOnlyHint
    assert tools["test_add"].metadata["system"] == "mcp:test"
    assert "read-only" in (tools["test_add"].tags or [])
    assert tools["test_record_note"].metadata == {
        "effect": "write",  # no annotation: side-effecting
        "system": "mcp:test",
        "mcp_server": "test",
        "mcp_tool": "record_note",
        "annotations": None,
    }
    assert "side-effect" in (tools["test_record_note"].tags or [])
    assert tools["test_refuse"].metadata is not None
    assert tools["test_refuse"].metadata["effect"] == "write"  # config beats the hint
    assert tools["test_add"].args["a"]["type"] == "integer"


async def test_untrusted_annotations_leave_every_tool_side_effecting(
    server: Server, sessions: MCPSessions
) -> None:
    tools = await _tools(server(trust_annotations=False), sessions)
    assert {tool.metadata["effect"] for tool in tools.values() if tool.metadata} == {"write"}


async def test_a_call_returns_the_servers_content(server: Server, sessions: MCPSessions) -> None:
    tools = await _tools(server(), sessions)
    blocks = await tools["test_add"].ainvoke({"a": 2, "b": 40})
    assert [block["text"] for block in blocks] == ["42"]
    call = {"name": "test_add", "args": {"a": 1, "b": 1}, "id": "c1", "type": "tool_call"}
    message = await tools["test_add"].ainvoke(call)
    assert isinstance(message, ToolMessage)
    assert message.artifact == {"structured_content": {"result": 2}}


async def test_a_side_effecting_call_reaches_the_server_once(
    server: Server, sessions: MCPSessions
) -> None:
    config = server()
    tools = await _tools(config, sessions)
    before = _count_notes(config["notes"])
    blocks = await tools["test_record_note"].ainvoke({"text": "paid invoice 7"})
    assert blocks[0]["text"] == "recorded 'paid invoice 7'"
    assert _count_notes(config["notes"]) == before + 1


async def test_a_tool_error_is_a_rejection_with_the_servers_message(
    server: Server, sessions: MCPSessions
) -> None:
    tools = await _tools(server(), sessions)
    with pytest.raises(ConnectorRejected, match="'test' tool 'refuse' failed: .*refused: no PO"):
        await tools["test_refuse"].ainvoke({"reason": "no PO"})


async def test_the_allow_list_hides_other_tools_and_names_missing_ones(
    server: Server, sessions: MCPSessions
) -> None:
    assert sorted(await _tools(server(allowed_tools=["add"]), sessions)) == ["test_add"]
    everything = await _tools(server(allowed_tools=["*"], prefix=False), sessions)
    assert "drop_everything" in everything
    with pytest.raises(ConfigError, match="offers no tool delete_all; it offers: add, "):
        await _tools(server(allowed_tools=["add", "delete_all"]), sessions)


async def test_a_call_past_its_timeout_is_unavailable(
    server: Server, sessions: MCPSessions
) -> None:
    tools = await _tools(server(timeout=5, attempts=1), sessions)
    before = await _whoami(tools)
    started = time.monotonic()
    with pytest.raises(ConnectorUnavailable, match=r"'wait' .*no answer within 5s"):
        await tools["test_wait"].ainvoke({"seconds": 60})
    assert time.monotonic() - started < 10
    assert (await tools["test_wait"].ainvoke({"seconds": 0}))[0]["text"] == "done"
    assert await _whoami(tools) == before  # a slow call does not cost the session


async def test_a_server_that_is_down_is_unavailable_with_a_clear_message(
    sessions: MCPSessions,
) -> None:
    down_http = {"transport": "http", "url": f"http://127.0.0.1:{closed_port()}/mcp"}
    with pytest.raises(ConnectorUnavailable, match="MCP server 'test' .*could not list its tools"):
        await _tools({**down_http, "allowed_tools": ["add"]}, sessions)
    missing = {"transport": "stdio", "command": "/nonexistent/mcp-server"}
    with pytest.raises(ConnectorUnavailable, match="cannot start or reach it .*FileNotFoundError"):
        await _tools({**missing, "allowed_tools": ["add"]}, sessions)
    dies = {"transport": "stdio", "command": sys.executable, "args": ["-c", "raise SystemExit(3)"]}
    with pytest.raises(ConnectorUnavailable, match="the session broke"):
        await _tools({**dies, "allowed_tools": ["add"]}, sessions)


async def test_a_server_gone_after_listing_makes_calls_unavailable(
    doomed_server: HttpServer, sessions: MCPSessions
) -> None:
    config = {"transport": "http", "url": doomed_server.url, "allowed_tools": ALLOWED}
    tools = await _tools(config, sessions)
    doomed_server.stop()
    with pytest.raises(ConnectorUnavailable, match="'add' .*ConnectError"):
        await tools["test_add"].ainvoke({"a": 1, "b": 2})


async def test_calls_reuse_one_kept_session(server: Server, sessions: MCPSessions) -> None:
    tools = await _tools(server(), sessions)
    first = await _whoami(tools)
    await tools["test_add"].ainvoke({"a": 1, "b": 2})
    await tools["test_record_note"].ainvoke({"text": "kept"})
    again = await _tools(server(), sessions)  # listing again reuses it too
    assert await _whoami(again) == await _whoami(tools) == first


async def test_concurrent_calls_run_at_once_on_one_session(
    server: Server, sessions: MCPSessions
) -> None:
    tools = await _tools(server(), sessions)
    first = await _whoami(tools)
    meeting = uuid.uuid4().hex
    # `meet` answers only once all five calls are in progress on the server together
    answers = await asyncio.gather(
        *(tools["test_meet"].ainvoke({"meeting": meeting, "count": 5}) for _ in range(5))
    )
    assert {blocks[0]["text"] for blocks in answers} == {str(first["pid"])}
    assert await _whoami(tools) == first


async def test_a_stdio_server_killed_between_calls_is_replaced_for_the_next_reads(
    stdio: Server, sessions: MCPSessions
) -> None:
    tools = await _tools(stdio(), sessions)
    first = await _whoami(tools)
    await _kill(first["pid"])
    # three reads at once: each finds the session dead, and all share one new process (`meet`
    # needs all three in progress on the same server)
    meeting = uuid.uuid4().hex
    answers = await asyncio.gather(
        *(tools["test_meet"].ainvoke({"meeting": meeting, "count": 3}) for _ in range(3))
    )
    pids = {int(blocks[0]["text"]) for blocks in answers}
    assert len(pids) == 1
    assert pids != {first["pid"]}
    assert (await _whoami(tools))["pid"] in pids


async def test_a_write_cut_off_by_the_server_dying_fails_and_is_not_repeated(
    stdio: Server, sessions: MCPSessions
) -> None:
    config = stdio()
    tools = await _tools(config, sessions)
    pid = (await _whoami(tools))["pid"]
    before = _count_notes(config["notes"])
    writing = asyncio.ensure_future(
        tools["test_record_note_slowly"].ainvoke({"text": "paid invoice 8", "seconds": 30})
    )
    deadline = time.monotonic() + 20
    while _count_notes(config["notes"]) == before:  # the server has run it, not yet answered
        assert time.monotonic() < deadline and not writing.done()
        await asyncio.sleep(0.05)
    await _kill(pid)
    with pytest.raises(
        ConnectorUnavailable, match="'record_note_slowly' .*may or may not have run"
    ):
        await writing
    assert _count_notes(config["notes"]) == before + 1  # not repeated on a new process
    assert (await _whoami(tools))["pid"] != pid  # yet the next call gets one


async def test_a_write_after_the_http_server_restarted_runs_once_on_a_new_session(
    doomed_server: HttpServer, sessions: MCPSessions, notes_dir: Path
) -> None:
    config = {"transport": "http", "url": doomed_server.url, "allowed_tools": ALLOWED}
    tools = await _tools(config, sessions)
    first = await _whoami(tools)
    doomed_server.restart()
    notes = notes_dir / "doomed.txt"
    before = _count_notes(notes)
    # the new server answers the old session's id with 404: nothing ran, so it is safe to repeat
    blocks = await tools["test_record_note"].ainvoke({"text": "after restart"})
    assert blocks[0]["text"] == "recorded 'after restart'"
    assert _count_notes(notes) == before + 1
    assert (await _whoami(tools))["pid"] != first["pid"]


async def test_closing_the_shared_sessions_ends_the_stdio_server(stdio: Server) -> None:
    children = _children()
    tools = {tool.name: tool for tool in await mcp_tools(_config(stdio()))}  # shared sessions
    pid = (await _whoami(tools))["pid"]
    assert _running(pid)
    again = {tool.name: tool for tool in await mcp_tools(_config(stdio()))}
    assert (await _whoami(again))["pid"] == pid
    await close_mcp_sessions()
    assert not _running(pid)
    assert _children() <= children
    with pytest.raises(ConnectorUnavailable, match="sessions to MCP server 'test' are closed"):
        await tools["test_add"].ainvoke({"a": 1, "b": 2})

    with pytest.raises(ValidationError, match="transport stdio needs a command"):
        MCPServer.model_validate({"transport": "stdio", "allowed_tools": ["a"]})
    with pytest.raises(ValidationError, match="apply to transport stdio, not http"):
        MCPServer.model_validate(
            {"transport": "http", "url": "http://x/mcp", "command": "x", "allowed_tools": ["a"]}
        )
    with pytest.raises(ValidationError, match="allowed_tools"):
        MCPServer.model_validate({"transport": "http", "url": "http://x/mcp"})
    with pytest.raises(ValidationError, match="effects name tools not in allowed_tools: b"):
        MCPServer.model_validate(
            {
                "transport": "http",
                "url": "http://x/mcp",
                "allowed_tools": ["a"],
                "effects": {"b": "read"},
            }
        )
    secret = MCPServer.model_validate(
        {
            "transport": "http",
            "url": "http://x/mcp",
            "headers": {"Authorization": "Bearer s3cret"},
            "allowed_tools": ["*"],
        }
    )
    assert "s3cret" not in repr(secret)


async def test_a_graph_calls_mcp_tools_through_a_tool_node(
    server: Server, sessions: MCPSessions
) -> None:
    tools = list((await _tools(server(allowed_tools=["add", "refuse"]), sessions)).values())

    answers: list[str | dict[str, Any]] = [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                tool_call("call_1", "test_add", {"a": 19, "b": 23}),
                tool_call("call_2", "test_refuse", {"reason": "no PO"}),
            ],
        },
        "The total is 42; the check was refused.",
    ]
    with scripted_chat(answers) as fake:
        model = ChatOpenAI(base_url=fake.url, api_key="unused", model="fake").bind_tools(tools)
        graph = tool_agent(model, tools).compile()
        result = await graph.ainvoke({"messages": [HumanMessage("What is 19 + 23?")]})

    _, asked, added, refused, answer = result["messages"]
    assert isinstance(asked, AIMessage)
    assert [c["name"] for c in asked.tool_calls] == ["test_add", "test_refuse"]
    assert isinstance(added, ToolMessage)
    assert added.status == "success"
    assert [block["text"] for block in added.content] == ["42"]  # type: ignore[index]
    assert isinstance(refused, ToolMessage)
    assert refused.status == "error"
    assert "refused: no PO" in str(refused.content)
    assert answer.content == "The total is 42; the check was refused."
    offered = [t["function"]["name"] for t in fake.requests[0]["tools"]]
    assert offered == ["test_add", "test_refuse"]
    sent_back = {
        m["tool_call_id"]: json.dumps(m["content"])
        for m in fake.requests[1]["messages"]
        if m["role"] == "tool"
    }
    assert "42" in sent_back["call_1"]
    assert "refused: no PO" in sent_back["call_2"]


MCP_GRAPH = """
import json
from typing import TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from tools.config import connectors_for


class State(TypedDict, total=False):
    pid: int


async def ask(state: State, config: RunnableConfig) -> State:
    connectors = connectors_for(config)
    tools = {tool.name: tool for tool in await connectors.mcp_tools()}
    blocks = await tools["test_whoami"].ainvoke({})
    return {"pid": json.loads(blocks[0]["text"])["pid"]}


builder = StateGraph(State)
builder.add_node("ask", ask)
builder.add_edge(START, "ask")
builder.add_edge("ask", END)
graph = builder.compile()
"""


def test_the_server_keeps_one_stdio_process_across_runs_and_ends_it_at_shutdown(
    tmp_path: Path, stdio: Server
) -> None:
    from langgraph_sdk import get_sync_client

    from tests.servers import AgentOpsProcess

    (tmp_path / "mcp_graph.py").write_text(MCP_GRAPH)
    (tmp_path / "langgraph.json").write_text(
        json.dumps({"dependencies": ["."], "graphs": {"mcp": "./mcp_graph.py:graph"}})
    )
    mcp_server = {k: v for k, v in stdio().items() if k != "notes"}
    (tmp_path / "connectors.yaml").write_text(
        json.dumps({"mcp": {"servers": {"test": mcp_server}}})
    )
    server = AgentOpsProcess(
        f"sqlite:///{tmp_path}/mcp.db",
        tmp_path,
        config=tmp_path / "langgraph.json",
        env={"AGENT_OPS_CONNECTORS_CONFIG": str(tmp_path / "connectors.yaml")},
    ).start()
    try:
        client = get_sync_client(url=server.url)
        pids = [client.runs.wait(None, "mcp", input={})["pid"] for _ in range(2)]  # type: ignore[call-overload]
    finally:
        server.stop()
    assert pids[0] == pids[1], server.log()
    assert "closed the kept sessions to 1 MCP servers" in server.log()
    assert not _running(pids[0])
