"""The shipped suites, run as users run them: the routing suite through `agent-ops eval run`, on
twelve of its routes (a smaller router builds in seconds), gives exactly what that router itself
scores there, and its HTML report holds the numbers of its JSON; the invoice suite re-runs
offline from its recorded model answers."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from agent_ops.cli import main
from agent_ops.models import LabelledText, Router, examples_by_label, read_labelled_csv
from agent_ops.settings import Settings
from evals.harness import (
    ExperimentOptions,
    Suite,
    load_experiment,
    read_dataset,
    run_experiment,
    write_dataset,
)
from evals.suites.graphs import BANKING77_TRAIN

SUITES = Path(__file__).parents[2] / "evals" / "suites"


def test_routing_suite_scores_what_the_router_scores_and_reports_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = read_labelled_csv(BANKING77_TRAIN)
    routes = sorted({row.label for row in train})[:12]
    with (tmp_path / "train.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["text", "label"])
        writer.writerows([row.text, row.label] for row in train if row.label in routes)
    # Every 4th query of those routes and every 6th `unknown` one (held-out and non-banking).
    shipped = read_dataset(SUITES / "data" / "routing" / "cases.jsonl").cases
    cases = [c for c in shipped if c.expected["label"] in routes][::4]
    cases += [c for c in shipped if c.expected["label"] == "unknown"][::6]
    write_dataset(tmp_path / "cases.jsonl", cases)
    suite = (SUITES / "routing.yaml").read_text()
    suite += f"run_config: {{configurable: {{routes_csv: {tmp_path / 'train.csv'}}}}}\n"
    suite = suite.replace("config: langgraph.json", f"config: {SUITES / 'langgraph.json'}")
    suite = suite.replace("dataset: data/routing/cases.jsonl", "dataset: cases.jsonl")
    (tmp_path / "routing.yaml").write_text(suite)

    argv = ["eval", "run", str(tmp_path / "routing.yaml"), "--results", str(tmp_path / "out")]
    assert main([*argv, "--concurrency", "3"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    experiment = load_experiment(Path(last.removeprefix("experiment: ")))

    router = Router.from_examples(examples_by_label(read_labelled_csv(tmp_path / "train.csv")))
    truth = [LabelledText(c.inputs["text"], c.expected["label"]) for c in cases]
    routed = router.route_batch([t.text for t in truth])
    right = sum(d.label == t.label for d, t in zip(routed, truth, strict=True))
    assert len(experiment.cases) == len(cases) == 60 + 29
    assert experiment.metrics["classification.accuracy"] == round(right / len(cases), 6)
    assert [c.output["route"] for c in experiment.cases] == [d.label for d in routed]
    assert experiment.metrics["outcome.error_rate"] == 0.0

    assert main(["eval", "report", str(experiment.folder), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    page = (experiment.folder / "report.html").read_text()
    for name, value in report["summary"]["metrics"].items():
        if name.startswith("classification."):
            assert f'data-metric="{name}">{value:.4f}<' in page
    # The drawn confusion matrix: its diagonal holds the right answers, its cells every case.
    cells = re.findall(r"<td class='num( diag)?'>(\d*)</td>", page)
    assert sum(int(n) for diag, n in cells if diag and n) == right
    assert sum(int(n) for _, n in cells if n) == len(cases)
    assert page.count('<details class="case') == len(cases)


async def test_invoice_suite_reruns_offline_from_its_recorded_model_answers(
    tmp_path: Path,
) -> None:
    # No model file: a local model server could not start, so every model answer must come
    # from the replay cache recorded in evals/suites/replay/invoice.
    settings = Settings(local_model_path=tmp_path / "no-such-model.gguf")
    suite = Suite.load(SUITES / "invoice.yaml")
    options = ExperimentOptions(suite=suite, results=tmp_path, replay="replay")
    done = await run_experiment(options, settings, progress=None)
    replay = done.meta["replay"]
    assert replay["misses"] == 0 and replay["hits"] >= 10, replay
    assert {c.status for c in done.cases} == {"success"}
    assert len(done.cases) == 40
    # The safety property of the workflow: no wrongly read invoice passes without review.
    assert done.metrics["decision.false_accept"] == 0.0
    by_tag = done.summary["details"]["by_tag"]
    for exact in ("facturx-xml", "text:labelled-en", "pdf:rechnung-de"):
        assert by_tag[exact]["fields.all"] == 1.0, (exact, by_tag[exact])
    for unknown_layout in ("text:email", "pdf:statement"):
        assert by_tag[unknown_layout]["decision.review"] == 1.0
    # Answered from the cache, the model's calls still land in the decision log with tokens
    # (one call timed out while recording: it has no answer to replay, and goes to review).
    assert sum(c.input_tokens > 0 for c in done.cases) == replay["hits"]
    # The same scores, tokens and model calls as the run that recorded the cache.
    recorded = json.loads((SUITES / "replay" / "invoice-recorded.json").read_text())
    replayed = {k: v for k, v in done.metrics.items() if k in recorded["metrics"]}
    assert replayed == recorded["metrics"]
    # Scored since the recording: no document that should have waited for a person is paid.
    assert done.metrics["wrong_payment.wrong_rate"] == 0.0
    assert replay["hits"] == recorded["replay"]["misses"]
