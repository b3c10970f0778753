"""schemathesis over `/openapi.json` against a real server per backend, with API keys on and two
tenants fuzzing at once: coverage, fuzzing and stateful phases over every operation, a fixed
seed, and the run fails on any 5xx. Afterwards each tenant looks for the other's objects (every
thread, assistant and cron the fuzzers made) through search and by id: none may show.

By default each phase runs once to its end rather than for a time box: coverage (the schema's
own boundary cases, about 4,700 per tenant, so the 1,000 cases asserted are always reached),
fuzzing with `AGENT_OPS_FUZZ_EXAMPLES` (default 2) cases per operation, and one stateful pass;
`TIME_CAP` seconds bound it and fail the test when spent. A release runs it on a time box instead,
the phases repeating until it is spent (`AGENT_OPS_FUZZ_SECONDS=1800`; README, "Limits and bad
input"). The server gets its own database, so the thousands of objects the fuzzers create do
not slow the other API tests."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_sync_client
from langgraph_sdk.client import SyncLangGraphClient
from langgraph_sdk.errors import NotFoundError

from tests.governance.conftest import KEYS_AUTH, create_key
from tests.servers import BACKENDS, AgentOpsProcess, new_server, serving

SEED = 20261206
TENANTS = ("fuzz-a", "fuzz-b")
MOST = 1000  # objects listed per search (the API's page limit)
TIME_CAP = 300  # seconds for a run without a time box; a slower one fails


@pytest.fixture(scope="module", params=BACKENDS)
def fuzzed_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AgentOpsProcess]:
    with serving(new_server(tmp_path_factory, "fuzz", KEYS_AUTH, request=request)) as server:
        yield server


def _budget() -> list[str]:
    """The run's bound: a time box when AGENT_OPS_FUZZ_SECONDS is set (fuzzing and stateful
    repeat until it is spent), else each phase once with a few fuzzed cases per operation."""
    seconds = os.environ.get("AGENT_OPS_FUZZ_SECONDS")
    if seconds:
        return ["--max-time", seconds]
    return ["--max-examples", os.environ.get("AGENT_OPS_FUZZ_EXAMPLES", "2")]


def _fuzz(server: AgentOpsProcess, key: str, seed: int, cwd: Path) -> Any:
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    assert st is not None, "schemathesis is a test dependency (pip install -e '.[test]')"
    cwd.mkdir()
    return subprocess.Popen(
        [
            st,
            "run",
            f"{server.url}/openapi.json",
            "--header",
            f"X-Api-Key: {key}",
            "--checks",
            "not_a_server_error",
            "--phases",
            "coverage,fuzzing,stateful",
            "--seed",
            str(seed),
            *_budget(),
            "--workers",
            "1",
            "--generation-database",
            "none",
            "--no-color",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=cwd,
    )


def _ids(client: SyncLangGraphClient) -> dict[str, set[str]]:
    """Every thread, assistant and cron the caller can find by searching."""
    return {
        "thread": {t["thread_id"] for t in client.threads.search(limit=MOST)},
        "assistant": {a["assistant_id"] for a in client.assistants.search(limit=MOST)},
        "cron": {c["cron_id"] for c in client.crons.search(limit=MOST)},
    }


def _hidden(client: SyncLangGraphClient, kind: str, object_id: str) -> bool:
    """True when the caller's GET of another tenant's object is a 404, as if it did not exist."""
    readers: dict[str, Callable[[str], Any]] = {
        "thread": client.threads.get,
        "assistant": client.assistants.get,
        "cron": lambda cron_id: client.http.get(f"/runs/crons/{cron_id}"),
    }
    read = readers[kind]
    try:
        read(object_id)
    except NotFoundError:
        return True
    return False


@pytest.mark.slow
def test_two_tenants_fuzzing_at_once_get_no_server_error_and_see_nothing_of_each_other(
    fuzzed_server: AgentOpsProcess, tmp_path: Path
) -> None:
    keys = {tenant: create_key(fuzzed_server, tenant, "admin")["key"] for tenant in TENANTS}
    outsider = create_key(fuzzed_server, "fuzz-outsider", "viewer")["key"]
    runs = {
        tenant: _fuzz(fuzzed_server, keys[tenant], SEED + i, tmp_path / tenant)
        for i, tenant in enumerate(TENANTS)
    }
    seconds = os.environ.get("AGENT_OPS_FUZZ_SECONDS")
    cap = int(seconds) * 3 + 120 if seconds else TIME_CAP
    generated = 0
    for tenant, proc in runs.items():
        try:
            out, _ = proc.communicate(timeout=cap)
        except subprocess.TimeoutExpired:
            for running in runs.values():
                running.kill()
            raise
        summary = out[-6000:]
        log = fuzzed_server.log()[-6000:]
        assert proc.returncode == 0, f"{tenant}:\n{summary}\n--- server log ---\n{log}"
        ran = [phase for phase in ("Coverage", "Fuzzing", "Stateful") if f"✅ {phase}" in summary]
        assert ran == ["Coverage", "Fuzzing", "Stateful"], f"{tenant}: phases run {ran}\n{summary}"
        found = re.search(r"(\d+) generated", summary)
        assert found is not None, summary
        generated += int(found.group(1))
    assert generated >= 1000, f"only {generated} cases generated"  # it did test
    print(f"{generated} cases generated by two tenants, no server error")

    clients = {t: get_sync_client(url=fuzzed_server.url, api_key=keys[t]) for t in TENANTS}
    seen = {tenant: _ids(client) for tenant, client in clients.items()}
    # The registry's default assistants serve every tenant; a tenant that made nothing sees them.
    shared = _ids(get_sync_client(url=fuzzed_server.url, api_key=outsider))
    assert shared["thread"] == shared["cron"] == set(), shared
    made = {t: {k: ids - shared[k] for k, ids in seen[t].items()} for t in TENANTS}
    assert made["fuzz-a"]["thread"] and made["fuzz-b"]["thread"], "the fuzzers made threads"
    for own, other in (TENANTS, TENANTS[::-1]):
        for kind, ids in made[own].items():
            leaked = ids & seen[other][kind]
            assert not leaked, f"{other} finds {own}'s {kind}s {sorted(leaked)[:5]}"
            readable = [i for i in sorted(ids)[:40] if not _hidden(clients[other], kind, i)]
            assert not readable, f"{other} can read {own}'s {kind}s {readable[:5]}"
