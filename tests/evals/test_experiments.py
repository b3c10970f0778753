"""Experiments through the runtime: a support agent whose model is a counting rule, run by the
harness on both backends; the replay cache answers a re-run without asking the model, a worse
prompt version is caught by `compare`, and the CLI reports one error line for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent_ops.cli import main
from agent_ops.settings import Settings
from evals.harness import ExperimentOptions, Suite, load_experiment, run_experiment
from evals.harness.compare import compare
from tests.evals.support import agent

SUPPORT = Path(__file__).parent / "support" / "support.yaml"


def _options(tmp_path: Path, **changes: object) -> ExperimentOptions:
    values: dict[str, object] = {
        "suite": Suite.load(SUPPORT),
        "results": tmp_path / "results",
        "replay_dir": tmp_path / "replay",
    }
    values.update(changes)
    return ExperimentOptions(**values)  # type: ignore[arg-type]


async def test_a_rerun_is_answered_from_the_replay_cache_and_asks_no_model(
    tmp_path: Path, database_url: str
) -> None:
    agent.ASKED.clear()
    first = await run_experiment(
        _options(tmp_path, database_url=database_url, concurrency=2), Settings(), progress=None
    )
    assert sorted(agent.ASKED) == sorted(
        [
            "where is order 42",
            "I am angry about order 7",
            "what are your hours",
            "angry : what are your hours",
        ]
    )
    assert first.meta["replay"] | {"folder": None} == {
        "folder": None,
        "mode": "record",
        "hits": 0,
        "misses": 4,
    }
    asked = list(agent.ASKED)
    second = await run_experiment(_options(tmp_path, replay="replay"), Settings(), progress=None)
    assert asked == agent.ASKED  # not one more call reached the model
    assert second.meta["replay"]["hits"] == 4 and second.meta["replay"]["misses"] == 0
    assert second.metrics | {"latency_ms.mean": 0, "latency_ms.p50": 0, "latency_ms.p95": 0} == (
        first.metrics | {"latency_ms.mean": 0, "latency_ms.p50": 0, "latency_ms.p95": 0}
    )
    assert [c.output for c in second.cases] == [c.output for c in first.cases]
    # Under prompt v1 the scripted model gets 4 of 4 right, tool calls included.
    assert first.metrics["classification.accuracy"] == 1.0
    assert first.metrics["trajectory.match"] == 1.0
    assert first.metrics["model_calls"] == 4.0
    assert [c.tool_calls for c in first.cases] == [
        [{"name": "lookup_order", "args": {"order_id": "42"}}],
        [{"name": "escalate", "args": {"reason": "angry customer"}}],
        [],
        [{"name": "escalate", "args": {"reason": "angry customer"}}],
    ]


async def test_replay_mode_with_an_empty_cache_fails_the_cases_instead_of_asking(
    tmp_path: Path,
) -> None:
    agent.ASKED.clear()
    done = await run_experiment(
        _options(tmp_path, replay="replay", limit=2), Settings(), progress=None
    )
    assert agent.ASKED == []
    assert [c.status for c in done.cases] == ["error", "error"]
    assert "has no answer of rules:scripted" in (done.cases[0].error or "")
    assert done.metrics["outcome.error_rate"] == 1.0


async def test_compare_catches_the_worse_prompt_version_and_names_the_regressed_cases(
    tmp_path: Path,
) -> None:
    good = await run_experiment(_options(tmp_path), Settings(), progress=None)
    worse = await run_experiment(
        _options(tmp_path, prompts={"support": "v2"}), Settings(), progress=None
    )
    assert worse.meta["prompts"] == {"support": "v2"}
    # Another prompt version is another request: nothing of v1's answers is replayed for it.
    assert (worse.meta["replay"]["hits"], worse.meta["replay"]["misses"]) == (0, 4)
    # v2 never escalates: the angry ones become an order lookup and an answer (2 of 4 right).
    assert worse.metrics["classification.accuracy"] == 0.5
    by_tag = worse.summary["details"]["by_tag"]
    assert by_tag["escalation"]["cases"] == 2
    assert by_tag["escalation"]["classification.accuracy"] == 0.0
    assert by_tag["order"]["classification.accuracy"] == 1.0
    result = compare(good, worse, max_regression={"classification.accuracy": 0.1})
    assert result.metrics["classification.accuracy"] == {"a": 1.0, "b": 0.5, "delta": -0.5}
    assert sorted(r["case"] for r in result.regressed) == ["angry", "angry-faq"]
    assert result.improved == []
    assert result.failures == ["classification.accuracy regressed by 0.5 (1 -> 0.5), more than 0.1"]
    # The same through the CLI: the gate is exit code 1.
    args = ["eval", "compare", str(good.folder), str(worse.folder)]
    assert main([*args, "--max-regression", "classification.accuracy=0.1"]) == 1
    assert main([*args, "--fail-under", "trajectory.match=0.4"]) == 0


def test_cli_runs_a_suite_reports_it_and_names_the_experiment_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "eval",
            "run",
            str(SUPPORT),
            "--results",
            str(tmp_path),
            "--replay-dir",
            str(tmp_path / "r"),
            "--repeat",
            "2",
        ]
    )
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    assert out[-1].startswith("experiment: ")
    folder = Path(out[-1].removeprefix("experiment: "))
    experiment = load_experiment(folder)
    assert len(experiment.cases) == 8 and {c.repeat for c in experiment.cases} == {0, 1}
    assert experiment.meta["replay"]["misses"] == 4 and experiment.meta["replay"]["hits"] == 4
    assert main(["eval", "report", str(folder), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["metrics"]["classification.accuracy"] == 1.0
    page = (folder / "report.html").read_text()
    embedded = json.loads(page.split("id='data'>")[1].split("</script>")[0].replace("<\\/", "</"))
    assert embedded["summary"] == report["summary"]
    assert 'data-metric="classification.accuracy">1.0000<' in page
    assert page.count('<details class="case') == 8


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["eval", "run", "no-such-suite"], "unknown suite 'no-such-suite'"),
        (
            ["eval", "run", str(SUPPORT), "--set", "writer=local:smollm2"],
            "unknown role 'writer'; roles: classify",
        ),
        (
            ["eval", "run", str(SUPPORT), "--set", "classify=gpt4"],
            "--set classify=gpt4: provider 'gpt4'",
        ),
        (
            ["eval", "run", str(SUPPORT), "--prompt", "support=v9"],
            "prompt 'support' has no version 'v9'",
        ),
        (["eval", "compare", "nowhere-a", "nowhere-b"], "nowhere-a is not an experiment folder"),
    ],
)
def test_bad_input_is_one_error_line_and_exit_code_2(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*argv, "--results", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("agent-ops: error: ") and message in err[0], err


def test_an_unknown_scorer_in_a_suite_is_refused_before_any_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = tmp_path / "bad.yaml"
    text = SUPPORT.read_text().replace("kind: outcome", "kind: bleu")
    suite.write_text(
        text.replace("langgraph.json", str(SUPPORT.parent / "langgraph.json"))
        .replace("cases.jsonl", str(SUPPORT.parent / "cases.jsonl"))
        .replace("models.yaml", str(SUPPORT.parent / "models.yaml"))
    )
    assert main(["eval", "run", str(suite), "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "agent-ops: error: unknown scorer 'bleu'; scorers: fields, classification, trajectory, "
        "outcome, wrong_action or module:function"
    )
    assert not any((tmp_path).glob("support-*"))


def _gate_suite(tmp_path: Path, extra: str = "") -> Suite:
    lines = [
        '{"id": "small", "inputs": {"amount": 40}, "expected": {"status": "approved"}}',
        '{"id": "limit", "inputs": {"amount": 1000}, "expected": {"status": "approved"}}',
        '{"id": "large", "inputs": {"amount": 5000}, "expected": {"status": "pending"}}',
        '{"id": "bad", "inputs": {"amount": -1}, "expected": {"status": "pending"}}',
    ]
    (tmp_path / "cases.jsonl").write_text("\n".join(lines) + "\n")
    config = Path(__file__).parents[2] / "evals" / "suites" / "langgraph.json"
    (tmp_path / "gate.yaml").write_text(
        f"name: gate\ngraph: approval_gate\nconfig: {config}\ndataset: cases.jsonl\n"
        "input: {request: {amount: $inputs.amount}}\n"
        "scorers: [{kind: classification, output: status, expected: status}, {kind: outcome}]\n"
        + extra
    )
    return Suite.load(tmp_path / "gate.yaml")


async def test_runs_that_pause_for_a_person_count_as_interrupted(tmp_path: Path) -> None:
    done = await run_experiment(
        ExperimentOptions(suite=_gate_suite(tmp_path), results=tmp_path / "out"),
        Settings(),
        progress=None,
    )
    assert [c.status for c in done.cases] == ["success", "success", "interrupted", "interrupted"]
    assert done.metrics["outcome.interrupted_rate"] == 0.5
    assert done.metrics["outcome.error_rate"] == 0.0
    paused = done.cases[2].output["__interrupt__"][0]["value"]
    assert "exceeds the auto-approval limit" in json.dumps(paused)


async def test_a_stop_the_suite_asks_for_is_not_an_interrupt(tmp_path: Path) -> None:
    suite = _gate_suite(tmp_path, "interrupt_after: [check_policy]\n")
    done = await run_experiment(
        ExperimentOptions(suite=suite, results=tmp_path / "out"), Settings(), progress=None
    )
    assert [c.status for c in done.cases] == ["success"] * 4
    assert [c.output["status"] for c in done.cases] == [
        "approved",
        "approved",
        "pending",
        "pending",
    ]
    assert done.metrics["classification.accuracy"] == 1.0


async def test_set_answers_a_role_with_another_provider(tmp_path: Path) -> None:
    done = await run_experiment(
        _options(tmp_path, roles={"classify": "rules:lazy"}), Settings(), progress=None
    )
    assert done.meta["roles"]["classify"] == ["rules:lazy"]
    assert [c.output["label"] for c in done.cases] == ["answer"] * 4
    assert done.metrics["classification.accuracy"] == 0.25  # only the FAQ question
    assert done.metrics["trajectory.match"] == 0.25


def test_a_malformed_dataset_line_is_one_error_line_naming_it_and_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = (SUPPORT.parent / "cases.jsonl").read_text().splitlines()
    lines.insert(2, '{"id": "broken", "inputs": {"question": "cut off')
    (tmp_path / "cases.jsonl").write_text("\n".join(lines) + "\n")
    suite = tmp_path / "support.yaml"
    suite.write_text(
        SUPPORT.read_text()
        .replace("langgraph.json", str(SUPPORT.parent / "langgraph.json"))
        .replace("models.yaml", str(SUPPORT.parent / "models.yaml"))
    )
    assert main(["eval", "run", str(suite), "--results", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"agent-ops: error: {tmp_path / 'cases.jsonl'}: line 3 "), err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
