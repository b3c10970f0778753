"""The BANKING77 routing split (evals/datasets/banking77) and a router built from it, once."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_ops.models import LabelledText, Router, examples_by_label, read_labelled_csv

BANKING77 = Path(__file__).parents[2] / "evals" / "datasets" / "banking77"


@pytest.fixture(scope="session")
def banking_train() -> list[LabelledText]:
    return read_labelled_csv(BANKING77 / "train.csv")


@pytest.fixture(scope="session")
def banking_test() -> list[LabelledText]:
    return read_labelled_csv(BANKING77 / "test.csv")


@pytest.fixture(scope="session")
def banking_router(banking_train: list[LabelledText]) -> Router:
    return Router.from_examples(examples_by_label(banking_train))


@pytest.fixture(scope="session")
def out_of_domain() -> set[str]:
    return set((BANKING77 / "out_of_domain.txt").read_text().splitlines())
