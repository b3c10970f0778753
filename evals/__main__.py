"""`python -m evals extraction [--no-model]`: run an evaluation and print its scores as JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging

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
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    from evals.extraction.run import run

    scores = asyncio.run(run(use_model=not args.no_model, min_confidence=args.min_confidence))
    print(json.dumps(scores, indent=2))


if __name__ == "__main__":
    main()
