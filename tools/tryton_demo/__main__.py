"""`python -m tools.tryton_demo build DIR` seeds a demo Tryton; `ensure DIR` seeds it unless DIR
holds one of this seed version already; `serve DIR` serves it.

`orders DIR` adds the purchase orders given as JSON on stdin (a list of `_seed.Order`) to a
built one and prints their numbers; `journal DIR NAME` adds a payment journal and prints its id.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from pydantic import TypeAdapter

from tools.tryton_demo._process import add_orders, add_payment_journal, build, serve
from tools.tryton_demo._seed import Order


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.tryton_demo")
    commands = parser.add_subparsers(dest="command", required=True)
    build_cmd = commands.add_parser("build", help="create and seed the SQLite database in DIR")
    build_cmd.add_argument("directory", type=Path)
    build_cmd.add_argument("--today", type=dt.date.fromisoformat, default=dt.date.today())
    ensure_cmd = commands.add_parser("ensure", help="build DIR unless it is of this seed version")
    ensure_cmd.add_argument("directory", type=Path)
    orders_cmd = commands.add_parser("orders", help="add the orders on stdin (JSON) to DIR")
    orders_cmd.add_argument("directory", type=Path)
    orders_cmd.add_argument("--today", type=dt.date.fromisoformat, default=dt.date.today())
    journal_cmd = commands.add_parser("journal", help="add a payment journal NAME to DIR")
    journal_cmd.add_argument("directory", type=Path)
    journal_cmd.add_argument("name")
    serve_cmd = commands.add_parser("serve", help="serve the database in DIR over HTTP")
    serve_cmd.add_argument("directory", type=Path)
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if args.command == "build":
        build(args.directory.resolve(), args.today)
    elif args.command == "ensure":
        from tools.tryton_demo import ensure_demo

        ensure_demo(args.directory.resolve())
    elif args.command == "orders":
        orders = TypeAdapter(list[Order]).validate_json(sys.stdin.read())
        print("\n".join(add_orders(args.directory.resolve(), orders, args.today)), flush=True)
    elif args.command == "journal":
        print(add_payment_journal(args.directory.resolve(), args.name), flush=True)
    else:
        serve(args.directory.resolve(), args.host, args.port)


if __name__ == "__main__":
    main()
