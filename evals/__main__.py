"""`python -m evals extraction [--no-model]`: score invoice extraction and print JSON.

`python -m evals invoices [--cases N] [--seed S] [--out DIR] [--method order|fulfillment|manual]`:
run the held-out invoice set through the invoice workflow against a seeded Tryton, print the
table per format; the last line names the out dir."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import tempfile
from pathlib import Path

from tools.documents import DEFAULT_MIN_CONFIDENCE


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m evals")
    commands = parser.add_subparsers(dest="command", required=True)
    extraction = commands.add_parser("extraction", help="score invoice extraction")
    extraction.add_argument(
        "--no-model", action="store_true", help="XML, PDF and layouts only; no model calls"
    )
    extraction.add_argument(
        "--min-confidence",
        type=float,
        default=DEFAULT_MIN_CONFIDENCE,
        help="review bar (default %(default)s)",
    )
    invoices = commands.add_parser(
        "invoices", help="the held-out invoice set through the workflow and a real Tryton"
    )
    invoices.add_argument("--cases", type=int, default=48, help="generated cases (%(default)s)")
    invoices.add_argument("--seed", type=int, default=20261204, help="generator seed")
    invoices.add_argument("--out", type=Path, default=None, help="out dir (a new one in /tmp)")
    invoices.add_argument(
        "--method",
        choices=("order", "fulfillment", "manual"),
        default="order",
        help="invoice method of the purchase orders (default: Tryton's, %(default)s)",
    )
    invoices.add_argument(
        "--formats", default=None, help="comma-separated formats (default: all, incl. facturx)"
    )
    invoices.add_argument("--tryton-base", type=Path, default=None, help="a built demo to copy")
    invoices.add_argument("--no-model", action="store_true", help="rules only, no model layer")
    invoices.add_argument(
        "--report", type=Path, default=None, help="only tabulate the cases.jsonl in this out dir"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    if args.command == "invoices":
        _invoices(args)
        return
    from evals.extraction.run import run

    scores = asyncio.run(run(use_model=not args.no_model, min_confidence=args.min_confidence))
    print(json.dumps(scores, indent=2))


def _invoices(args: argparse.Namespace) -> None:
    from evals.invoices import ALL_FORMATS, Options, markdown, run

    if args.report is not None:  # a run cut short: its cases so far
        from evals.invoices._score import from_row, summarize

        lines = (args.report / "cases.jsonl").read_text().splitlines()
        print(markdown(summarize([from_row(json.loads(line)) for line in lines])))
        print(f"out dir: {args.report}")
        return
    logging.getLogger("evals.invoices").setLevel(logging.INFO)
    out = args.out or Path(tempfile.mkdtemp(prefix="eval-invoices-"))
    formats = tuple(f.strip() for f in args.formats.split(",")) if args.formats else ALL_FORMATS
    options = Options(
        out=out.resolve(),
        cases=args.cases,
        seed=args.seed,
        method=args.method,
        formats=formats,
        base=args.tryton_base,
        model=not args.no_model,
    )
    report = asyncio.run(run(options))
    print(markdown(report["formats"]))
    print(f"out dir: {options.out}")


if __name__ == "__main__":
    main()
