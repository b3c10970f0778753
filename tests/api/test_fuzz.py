"""schemathesis over `/openapi.json` against a real server per backend: coverage, fuzzing and
stateful phases over every operation, a fixed seed, and the run fails on any 5xx.

Bounded to a few minutes for CI (`AGENT_OPS_FUZZ_SECONDS`, default 75 per backend); a release
runs it longer (README, "Limits and bad input"). The server gets its own database, so the
thousands of objects the fuzzer creates do not slow the other API tests."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import BACKENDS, fresh_database
from tests.servers import AgentOpsProcess

SEED = 20261206


@pytest.fixture(scope="module", params=BACKENDS)
def fuzzed_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AgentOpsProcess]:
    folder: Path = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    server = AgentOpsProcess(
        fresh_database(request, folder, "fuzz"),
        folder,
        env={"AGENT_OPS_POLL_SECONDS": "0.5"},
        name=f"fuzz-{request.param}",
    )
    server.start()
    yield server
    server.stop()


@pytest.mark.slow
def test_no_generated_request_gets_a_server_error(
    fuzzed_server: AgentOpsProcess, tmp_path: Path
) -> None:
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    assert st is not None, "schemathesis is a test dependency (pip install -e '.[test]')"
    seconds = os.environ.get("AGENT_OPS_FUZZ_SECONDS", "75")
    result = subprocess.run(
        [
            st,
            "run",
            f"{fuzzed_server.url}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--phases",
            "coverage,fuzzing,stateful",
            "--seed",
            str(SEED),
            "--max-time",
            seconds,
            "--workers",
            "2",
            "--generation-database",
            "none",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=int(seconds) * 3 + 120,
        cwd=tmp_path,
    )
    summary = result.stdout[-6000:]
    assert result.returncode == 0, f"{summary}\n--- server log ---\n{fuzzed_server.log()[-6000:]}"
    generated = re.search(r"(\d+) generated", summary)
    assert generated is not None and int(generated.group(1)) >= 500, summary  # it did test
