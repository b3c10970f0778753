"""The shipped suites, run as users run them: the routing suite through `agent-ops eval run`, on
twelve of its routes (a smaller router builds in seconds), gives exactly what that router itself
scores there, and its HTML report holds the numbers of its JSON."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from agent_ops.cli import main
from agent_ops.models import LabelledText, Router, examples_by_label, read_labelled_csv
from evals.harness import load_experiment, read_dataset, write_dataset
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
