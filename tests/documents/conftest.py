"""The factur-x sample e-invoices (evals/datasets/facturx) and generated invoices of the eval."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.documents import Document

FACTURX = Path(__file__).parents[2] / "evals" / "datasets" / "facturx"


@pytest.fixture
def sample() -> type[Document]:
    return Document


def load(name: str) -> Document:
    return Document.from_path(FACTURX / name)
