"""`agent-ops eval dataset from-runs`: past runs of the approval gate (one paused for a person
and resumed with an edited request) made into a dataset whose expected output is what the
person decided, on both backends; then `eval run` on the suite written beside it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent_ops.cli import main
from agent_ops.runtime import AssistantChanges, AssistantRequest, RunOptions, RunRequest, Runtime
from evals.harness import load_experiment, read_dataset
from tests.runtimes import started_runtimes

GRAPHS = Path(__file__).parents[2] / "evals" / "suites" / "langgraph.json"


@pytest.fixture
async def runtime(database_url: str) -> AsyncIterator[Runtime]:
    async with started_runtimes(database_url, GRAPHS) as start:
        yield await start(workers=1, poll_seconds=0.05)


async def _cli(args: list[str]) -> int:
    # The CLI runs its own event loop (asyncio.run), so it cannot share the test's.
    return await asyncio.to_thread(main, args)


async def _run(runtime: Runtime, thread_id: str, **options: object) -> str:
    run = await runtime.runs.create_and_wait(
        thread_id,
        RunRequest("approval_gate", RunOptions(**options)),  # type: ignore[arg-type]
    )
    return run.status


async def _history(runtime: Runtime) -> dict[str, str]:
    """Past production runs: one edited by a reviewer, one approved by policy, one with no
    usable input, one still waiting for a person."""
    threads = {}
    edited = (await runtime.threads.create()).thread_id
    big = {"request": {"id": "inv-7", "vendor": "ACME", "amount": 5000}}
    assert await _run(runtime, edited, input=big) == "interrupted"
    decision = {"type": "edit", "args": {"amount": 800, "vendor": "ACME SA"}, "by": "ana"}
    # The reviewer answers as the console does: a background run, not one waited on.
    resume = RunRequest("approval_gate", RunOptions(command={"resume": decision}))
    resumed = await runtime.runs.create(edited, resume)
    assert (await runtime.runs.join(resumed.run_id, thread_id=edited)).status == "success"
    threads["edited"] = edited
    small = (await runtime.threads.create()).thread_id
    assert await _run(runtime, small, input={"request": {"id": "inv-8", "amount": 90}}) == (
        "success"
    )
    threads["small"] = small
    empty = (await runtime.threads.create()).thread_id
    assert await _run(runtime, empty, input={}) == "interrupted"
    waiting = (await runtime.threads.create()).thread_id
    assert await _run(runtime, waiting, input={"request": {"amount": 3000}}) == "interrupted"
    return threads


async def test_a_resumed_run_becomes_a_case_expecting_the_reviewers_edit(
    runtime: Runtime,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    threads = await _history(runtime)
    monkeypatch.setenv("AGENT_OPS_CONFIG", str(GRAPHS))
    out = tmp_path / "from-runs"
    code = await _cli(
        [
            *("eval", "dataset", "from-runs", "--assistant", "approval_gate"),
            *("--database-url", database_url, "--out", str(out)),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert (
        "2 cases from past runs; skipped: 1 ending interrupted, 1 without a usable input" in printed
    )
    cases = {c.tags: c for c in read_dataset(out / "dataset.jsonl").cases}
    assert set(cases) == {
        ("assistant:approval_gate", "status:success", "human:decided"),
        ("assistant:approval_gate", "status:success", "human:none"),
    }
    decided = cases[("assistant:approval_gate", "status:success", "human:decided")]
    assert decided.inputs == {"request": {"id": "inv-7", "vendor": "ACME", "amount": 5000}}
    # The outcome after the person's decision, not what the run paused with.
    assert decided.expected["request"] == {"id": "inv-7", "vendor": "ACME SA", "amount": 800}
    assert decided.expected["status"] == "approved"
    assert [d["by"] for d in decided.expected["decisions"]] == ["rules", "ana", "rules"]
    runs = await runtime.runs.for_thread(threads["edited"], limit=5)
    assert decided.id == runs[-1].run_id  # the run that carried the input
    untouched = cases[("assistant:approval_gate", "status:success", "human:none")]
    assert untouched.expected["request"] == {"id": "inv-8", "amount": 90}

    # The suite written beside the dataset runs it: the small request passes again; the big one
    # stops for a person, as it did in production (no human answers offline).
    code = await _cli(
        [
            *("eval", "run", str(out / "suite.yaml"), "--results", str(tmp_path / "results")),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    experiment = load_experiment(printed.strip().splitlines()[-1].split(": ", 1)[1], tmp_path)
    by_tag = experiment.summary["details"]["by_tag"]
    assert by_tag["human:none"]["fields.all"] == 1.0
    assert by_tag["human:decided"]["fields.all"] == 0.0
    assert experiment.metrics["fields.all"] == 0.5
    statuses = {c.id: c.status for c in experiment.cases}
    assert statuses == {decided.id: "interrupted", untouched.id: "success"}


async def test_since_until_and_status_choose_the_runs(
    runtime: Runtime, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _history(runtime)
    after = datetime.now(UTC) + timedelta(seconds=1)
    base = ["eval", "dataset", "from-runs", "--assistant", "approval_gate"]
    base += ["--database-url", database_url]
    code = await _cli([*base, "--since", after.isoformat(), "--out", str(tmp_path / "none")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("agent-ops: error: no past runs made a case"), err
    assert not (tmp_path / "none").exists()
    out = tmp_path / "waiting"
    code = await _cli(
        [*base, "--status", "interrupted", "--expected-key", "status", "--out", str(out)]
    )
    assert code == 0, capsys.readouterr()
    (case,) = read_dataset(out / "dataset.jsonl").cases
    assert case.inputs == {"request": {"amount": 3000}}
    assert case.expected == {"status": "pending"}
    assert "status:interrupted" in case.tags and "human:none" in case.tags
    with pytest.raises(SystemExit) as exited:
        await _cli([*base, "--until", "yesterday", "--out", str(out)])
    assert exited.value.code == 2
    assert "'yesterday' is not an ISO 8601 date or time" in capsys.readouterr().err


async def test_a_graph_id_takes_all_its_assistants_and_an_assistant_id_only_its_own(
    runtime: Runtime, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _history(runtime)
    limit = AssistantChanges(config={"configurable": {"auto_approve_limit": 10000}})
    generous = await runtime.assistants.create(
        AssistantRequest(graph_id="approval_gate", described=limit)
    )
    thread = (await runtime.threads.create()).thread_id
    request = RunRequest(
        generous.assistant_id, RunOptions(input={"request": {"id": "inv-9", "amount": 5000}})
    )
    assert (await runtime.runs.create_and_wait(thread, request)).status == "success"
    base = ["eval", "dataset", "from-runs", "--database-url", database_url]
    assert await _cli([*base, "--assistant", "approval_gate", "--out", str(tmp_path / "g")]) == 0
    assert len(read_dataset(tmp_path / "g" / "dataset.jsonl").cases) == 3
    own = tmp_path / "own"
    assert await _cli([*base, "--assistant", generous.assistant_id, "--out", str(own)]) == 0
    (case,) = read_dataset(own / "dataset.jsonl").cases
    assert case.inputs == {"request": {"id": "inv-9", "amount": 5000}}
    assert case.expected["status"] == "approved"
    assert case.tags == (f"assistant:{generous.assistant_id}", "status:success", "human:none")
    capsys.readouterr()
    missing = "0b9b7c1e-0000-4000-8000-000000000000"
    assert await _cli([*base, "--assistant", missing, "--out", str(tmp_path / "x")]) == 2
    assert missing in capsys.readouterr().err
