"""Custom scorers of the invoice suite (named in invoice.yaml as `module:function`)."""

from __future__ import annotations

from typing import Any

from evals.extraction.dataset import FIELDS
from evals.harness import CaseResult, normalize


def decision(output: Any, expected: dict[str, Any], case: CaseResult) -> dict[str, float]:
    """`review`: the reading went to a person; `false_accept`: it did not, yet the invoice was
    not read exactly (or the document itself was wrong): the wrong action of this workflow."""
    extraction = (output or {}).get("extraction") or {}
    review = case.status != "success" or bool(extraction.get("review", True))
    truth = expected.get("invoice")
    read = (output or {}).get("invoice")
    right = (
        truth is not None
        and read is not None
        and all(normalize(read.get(f)) == normalize(truth.get(f)) for f in FIELDS)
    )
    return {"review": float(review), "false_accept": float(not review and not right)}
