"""Experiments recorded in the agent-ops database: `agent-ops eval run` of the support suite
lands one experiment row and one row per case run whose values equal the results folder's
JSON, on both backends; `eval list` reads them back; bad input leaves the database clean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent_ops.cli import main
from agent_ops.errors import Conflict, InvalidInput, NotFound
from agent_ops.settings import Settings
from agent_ops.storage import (
    EvalCaseRun,
    EvalExperiment,
    NewEvalCase,
    Storage,
    create_storage,
)
from evals.harness import ExperimentOptions, Suite, load_experiment, run_experiment
from tests.evals.support import agent

SUPPORT = Path(__file__).parent / "support" / "support.yaml"


async def _read(url: str, experiment_id: str) -> tuple[EvalExperiment, list[EvalCaseRun]]:
    storage = create_storage(url, pool_size=2)
    await storage.open()
    try:
        return (
            await storage.get_eval_experiment(experiment_id),
            await storage.eval_cases(experiment_id),
        )
    finally:
        await storage.close()


async def test_a_run_lands_its_experiment_and_every_case_as_the_folder_has_them(
    tmp_path: Path, database_url: str
) -> None:
    agent.ASKED.clear()
    options = ExperimentOptions(
        suite=Suite.load(SUPPORT),
        results=tmp_path / "results",
        replay_dir=tmp_path / "replay",
        repeat=2,
        concurrency=2,
        database_url=database_url,  # the runs and the record share the database, as in production
        record_url=database_url,
    )
    done = await run_experiment(options, Settings(), progress=None)
    folder = load_experiment(done.folder)  # what compare and report read
    row, cases = await _read(database_url, folder.name)
    assert row.suite == "support" and row.cases == 8 and row.finished_at is not None
    assert row.settings == json.loads((done.folder / "experiment.json").read_text())
    assert row.metrics == json.loads((done.folder / "summary.json").read_text())["metrics"]
    assert row.metrics["classification.accuracy"] == 1.0
    lines = {
        (line["id"], line["repeat"]): line
        for line in map(json.loads, (done.folder / "cases.jsonl").read_text().splitlines())
    }
    stored = {(c.case_id, c.repeat): c for c in cases}
    assert sorted(stored) == sorted(lines) and len(stored) == 8
    for key, line in lines.items():
        case = stored[key]
        assert case.outputs == line["output"]
        assert case.expected == line["expected"]
        assert case.scores == line["scores"] and case.scores  # scored, not left empty
        assert case.status == line["status"] and case.error == line["error"]
        assert case.latency_ms == line["latency_ms"] and case.latency_ms > 0
        assert (case.input_tokens, case.output_tokens) == (
            line["input_tokens"],
            line["output_tokens"],
        )
        assert case.cost_usd == line["cost_usd"] and case.run_id == line["run_id"]


def test_cli_run_records_into_the_settings_database_and_list_shows_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    monkeypatch.setenv("AGENT_OPS_DATABASE_URL", url)
    results = tmp_path / "results"
    args = ["eval", "run", str(SUPPORT), "--results", str(results), "--limit", "2"]
    assert main([*args, "--replay-dir", str(tmp_path / "replay")]) == 0
    name = Path(capsys.readouterr().out.strip().splitlines()[-1].removeprefix("experiment: ")).name
    assert main([*args, "--replay-dir", str(tmp_path / "replay"), "--no-record"]) == 0
    capsys.readouterr()
    assert main(["eval", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [e["experiment"] for e in listed] == [name]  # --no-record left no row
    assert listed[0]["suite"] == "support" and listed[0]["cases"] == 2
    summary = json.loads((results / name / "summary.json").read_text())
    assert listed[0]["metrics"] == summary["metrics"] and listed[0]["finished"] is True
    assert main(["eval", "list"]) == 0
    table = capsys.readouterr().out
    assert name in table and "classification.accuracy=1" in table
    assert main(["eval", "list", "--suite", "routing"]) == 0
    assert capsys.readouterr().out.strip() == "no experiments recorded"
    assert main(["eval", "list", "--limit", "0"]) == 2
    assert capsys.readouterr().err.strip() == "agent-ops: error: --limit 0: must be at least 1"


async def test_a_refused_run_records_nothing(tmp_path: Path, sqlite_url: str) -> None:
    options = ExperimentOptions(
        suite=Suite.load(SUPPORT),
        results=tmp_path / "results",
        replay_dir=tmp_path / "replay",
        roles={"nobody": "rule:x"},
        record_url=sqlite_url,
    )
    with pytest.raises(InvalidInput, match="unknown role 'nobody'"):
        await run_experiment(options, Settings(), progress=None)
    storage = create_storage(sqlite_url)
    await storage.open()
    try:
        assert await storage.list_eval_experiments() == []
    finally:
        await storage.close()


def _case(case_id: str = "c1", repeat: int = 0) -> NewEvalCase:
    return NewEvalCase(
        case_id=case_id,
        repeat=repeat,
        status="success",
        outputs={"route": "orders"},
        expected={"route": "orders"},
        latency_ms=12.5,
        input_tokens=10,
        output_tokens=3,
        cost_usd=0.001,
    )


async def test_bad_writes_are_refused_by_name_and_leave_the_rows_as_they_were(
    storage: Storage,
) -> None:
    await storage.create_eval_experiment("exp-1", "support", {"graph": "support"})
    await storage.add_eval_case("exp-1", _case())
    with pytest.raises(Conflict, match="experiment exp-1 already exists"):
        await storage.create_eval_experiment("exp-1", "other", {})
    with pytest.raises(Conflict, match=r"case 'c1' \(repeat 0\) of experiment exp-1"):
        await storage.add_eval_case("exp-1", _case())
    with pytest.raises(NotFound, match="experiment exp-9 not found"):
        await storage.add_eval_case("exp-9", _case())
    with pytest.raises(NotFound, match="experiment exp-9 not found"):
        await storage.finish_eval_experiment("exp-9", {}, {"a": 1.0}, {})
    with pytest.raises(NotFound, match="experiment exp-9 not found"):
        await storage.get_eval_experiment("exp-9")
    with pytest.raises(ValueError, match="needs an id and a suite"):
        await storage.create_eval_experiment("", "support", {})
    row = await storage.get_eval_experiment("exp-1")
    assert (row.suite, row.cases, row.metrics, row.finished_at) == ("support", 1, None, None)
    assert [(c.case_id, c.repeat, c.scores) for c in await storage.eval_cases("exp-1")] == [
        ("c1", 0, {})
    ]
    assert await storage.eval_cases("exp-9") == []
    # A second repeat of the same case is its own row; scoring fills both in one go.
    await storage.add_eval_case("exp-1", _case(repeat=1))
    done = await storage.finish_eval_experiment(
        "exp-1",
        {"graph": "support", "wall_seconds": 1.5},
        {"accuracy": 0.5},
        {("c1", 0): {"accuracy": 1.0}, ("c1", 1): {"accuracy": None}},
    )
    assert done.metrics == {"accuracy": 0.5} and done.finished_at is not None
    assert done.settings == {"graph": "support", "wall_seconds": 1.5} and done.cases == 2
    assert [c.scores for c in await storage.eval_cases("exp-1")] == [
        {"accuracy": 1.0},
        {"accuracy": None},
    ]
    assert [e.experiment_id for e in await storage.list_eval_experiments(suite="support")] == [
        "exp-1"
    ]
