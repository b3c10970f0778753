"""A held-out invoice evaluation: invoices generated here, in layouts, languages, number and
date styles the extraction code was never written against, plus traps and the public factur-x
samples, run through the real invoice workflow against a real Tryton.

    report = await run(Options(out=Path("eval-out"), cases=48, method="order"))

`python -m evals invoices` is the command; see `_score.py` for what each count means.
"""

from __future__ import annotations

from evals.invoices._cases import FORMATS, KINDS, Case, Generator, Truth
from evals.invoices._run import ALL_FORMATS, Options, make_cases, run
from evals.invoices._score import Result, markdown, summarize, wrong_fields

__all__ = [
    "ALL_FORMATS",
    "FORMATS",
    "KINDS",
    "Case",
    "Generator",
    "Options",
    "Result",
    "Truth",
    "make_cases",
    "markdown",
    "run",
    "summarize",
    "wrong_fields",
]
