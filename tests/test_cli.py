"""Start-up errors: each stops `agent-ops serve` with one clear line and a non-zero exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import TEST_GRAPHS


def _serve(
    tmp_path: Path, config: Path, database_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGENT_OPS_DATABASE_URL": database_url or f"sqlite:///{tmp_path}/a.db"}
    return subprocess.run(
        [sys.executable, "-m", "agent_ops", "serve", "--config", str(config), "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("agent-ops: error:")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return errors[0]


def test_malformed_langgraph_json_stops_startup_naming_line_and_column(tmp_path: Path) -> None:
    config = tmp_path / "langgraph.json"
    config.write_text('{"graphs": {"a": "./g.py:graph",}}')
    line = _one_error_line(_serve(tmp_path, config))
    assert str(config) in line and "invalid JSON at line 1" in line


def test_langgraph_json_without_graphs_is_rejected(tmp_path: Path) -> None:
    config = tmp_path / "langgraph.json"
    config.write_text('{"dependencies": ["."]}')
    assert '"graphs" must be' in _one_error_line(_serve(tmp_path, config))


def test_graph_that_does_not_import_stops_startup_naming_graph_and_cause(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("import no_such_module_anywhere\ngraph = None\n")
    config = tmp_path / "langgraph.json"
    config.write_text('{"graphs": {"invoice": "./broken.py:graph"}}')
    line = _one_error_line(_serve(tmp_path, config))
    assert "graph 'invoice'" in line and "no_such_module_anywhere" in line


def test_graph_attribute_missing_is_named(tmp_path: Path) -> None:
    (tmp_path / "g.py").write_text("x = 1\n")
    config = tmp_path / "langgraph.json"
    config.write_text('{"graphs": {"g": "./g.py:graph"}}')
    assert "has no attribute 'graph'" in _one_error_line(_serve(tmp_path, config))


def test_bad_store_index_stops_startup_naming_the_setting(tmp_path: Path) -> None:
    (tmp_path / "g.py").write_text(
        "from langgraph.graph import StateGraph, START\nfrom typing import TypedDict\n"
        "class S(TypedDict):\n    x: int\n"
        "b = StateGraph(S)\nb.add_node('n', lambda s: s)\nb.add_edge(START, 'n')\n"
        "graph = b.compile()\n"
    )
    config = tmp_path / "langgraph.json"
    config.write_text(
        '{"graphs": {"g": "./g.py:graph"}, "store": {"index": {"embed": "local:minilm", "dims": 99}}}'
    )
    line = _one_error_line(_serve(tmp_path, config))
    assert "store.index" in line and "384" in line


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    line = _one_error_line(_serve(tmp_path, tmp_path / "nope.json"))
    assert "nope.json" in line


def test_unreachable_postgres_stops_startup_with_the_address(tmp_path: Path) -> None:
    result = _serve(tmp_path, TEST_GRAPHS, "postgresql://postgres@127.0.0.1:1/agent_ops")
    line = _one_error_line(result)
    assert "127.0.0.1" in line and "1" in line


def test_sqlite_file_in_missing_folder_is_named(tmp_path: Path) -> None:
    line = _one_error_line(_serve(tmp_path, TEST_GRAPHS, f"sqlite:///{tmp_path}/no/such/dir/a.db"))
    assert "is not a folder" in line


@pytest.mark.parametrize("url", ["mysql://x/y", "sqlite://relative.db"])
def test_unsupported_database_url_is_rejected(tmp_path: Path, url: str) -> None:
    assert "not supported" in _one_error_line(_serve(tmp_path, TEST_GRAPHS, url))


def test_migrate_twice_is_a_no_op(tmp_path: Path) -> None:
    env = {**os.environ, "AGENT_OPS_DATABASE_URL": f"sqlite:///{tmp_path}/m.db"}
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-m", "agent_ops", "migrate"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
    assert "up to date" in result.stderr


def test_json_logs_carry_run_and_thread_ids(tmp_path: Path) -> None:
    import json

    from langgraph_sdk import get_sync_client

    from tests.servers import AgentOpsProcess

    server = AgentOpsProcess(
        f"sqlite:///{tmp_path}/j.db", tmp_path, env={"AGENT_OPS_LOG_FORMAT": "json"}
    ).start()
    try:
        client = get_sync_client(url=server.url)
        thread = client.threads.create()
        client.runs.wait(thread["thread_id"], "echo", input={"messages": []})
    finally:
        server.stop()
    records = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    assert records, server.log()
    finished = [r for r in records if r.get("thread_id") == thread["thread_id"]]
    assert finished and all("run_id" in r and r["level"] == "info" for r in finished)


def test_a_server_loads_neither_openai_nor_mcp_before_a_role_or_an_mcp_tool_needs_them(
    tmp_path: Path,
) -> None:
    """The shipped graphs served with the default models and no MCP servers: `openai` and `mcp`
    (about 0.7 s of a 2.7 s start-up) wait for the first endpoint client or MCP session."""
    from langgraph_sdk import get_sync_client

    from tests.servers import AgentOpsProcess

    shipped = Path(__file__).resolve().parents[1] / "langgraph.json"
    server = AgentOpsProcess(
        f"sqlite:///{tmp_path}/i.db",
        tmp_path,
        config=shipped,
        env={"PYTHONPROFILEIMPORTTIME": "1"},
    ).start()
    try:
        graphs = {a["graph_id"] for a in get_sync_client(url=server.url).assistants.search()}
    finally:
        server.stop()
    assert graphs == {"approval_gate", "invoice_approval"}
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in server.log().splitlines()
        if line.startswith("import time:")
    }
    assert {"langgraph", "fastapi", "graphs.invoice"} <= imported  # the log has the imports
    assert not imported & {"openai", "langchain_openai", "mcp", "langchain_mcp_adapters"}
