"""`python -m evals extraction --no-model` as a user runs it: JSON with the agreed measures, and
the deterministic methods at the quality the design relies on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_extraction_eval_without_model_prints_scores_by_method_and_group() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "evals", "extraction", "--no-model"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    scores = json.loads(done.stdout)

    overall = scores["overall"]
    assert overall["documents"] == 40
    assert set(overall) >= {
        "field_accuracy",
        "fully_correct",
        "review_rate",
        "false_accept_rate",
        "ms_per_document",
    }
    # A bank's number: no wrong invoice may pass without review. Zero, not a small rate, because
    # every accepted reading here comes from a schema-valid XML or a layout that fit exactly.
    assert overall["false_accepts"] == 0 and scores["false_accepted"] == []
    # Schema-valid e-invoices and fitted layouts are read exactly: any error is a parser bug.
    for method in ("cii", "ubl", "layout"):
        accuracy = scores["by_method"][method]["field_accuracy"]
        assert set(accuracy.values()) == {1.0}, (method, accuracy)
    for group in (
        "text:labelled-en",
        "pdf:labelled-en",
        "text:rechnung-de",
        "pdf:rechnung-de",
        "facturx-pdf",
    ):
        assert scores["by_group"][group]["review_rate"] == 0.0, group
    # Without a model, what no layout fits, what does not add up, and what is no invoice: review.
    for group in (
        "text:email",
        "pdf:statement",
        "inconsistent:labelled-en",
        "inconsistent:rechnung-de",
    ):
        assert scores["by_group"][group]["review_rate"] == 1.0, group
    assert scores["by_group"]["facturx-xml"]["fully_correct"] == 10  # the 11th is an order
    assert overall["ms_per_document"] < 500
