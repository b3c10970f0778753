"""The offline evaluation harness: datasets (JSONL), suites, experiments run through the runtime,
scorers, the replay cache's use, comparisons and reports. `agent-ops eval ...` is its CLI."""

from __future__ import annotations

from evals.harness.dataset import Case, Dataset, import_csv, read_dataset, write_dataset
from evals.harness.experiment import ExperimentOptions, run_experiment
from evals.harness.from_runs import RunsDataset, RunsQuery, cases_from_runs, write_runs_dataset
from evals.harness.results import CaseResult, Experiment, load_experiment
from evals.harness.scorers import KINDS, Scorer, build_scorer, normalize
from evals.harness.suite import ScorerSpec, Suite, find_suite

__all__ = [
    "KINDS",
    "Case",
    "CaseResult",
    "Dataset",
    "Experiment",
    "ExperimentOptions",
    "Scorer",
    "RunsDataset",
    "RunsQuery",
    "ScorerSpec",
    "Suite",
    "build_scorer",
    "cases_from_runs",
    "find_suite",
    "import_csv",
    "load_experiment",
    "normalize",
    "read_dataset",
    "run_experiment",
    "write_dataset",
    "write_runs_dataset",
]
